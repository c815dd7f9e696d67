// Command modzip extracts chosen folders of a Go module zip (as the module proxy serves it and
// `go mod download` verifies it) into a directory, so that levee's upstream corpus reads the
// exact files of a pinned module version without the go command's own extraction, which
// refuses modules whose go line is newer than the local toolchain.
//
//	modzip <module.zip> <destination> <folder>...
//
// A folder is a path inside the module ("templates", "examples/v1"); every file below it is
// written under the destination with the same relative path. Prints the number of files.
package main

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: modzip <module.zip> <destination> <folder>...")
		os.Exit(2)
	}
	count, err := extract(os.Args[1], os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "modzip:", err)
		os.Exit(1)
	}
	fmt.Println(count)
}

func extract(zipPath, destination string, folders []string) (int, error) {
	archive, err := zip.OpenReader(zipPath)
	if err != nil {
		return 0, err
	}
	defer archive.Close()
	count := 0
	for _, file := range archive.File {
		// Every entry of a module zip starts with "<module>@<version>/".
		at := strings.Index(file.Name, "@")
		slash := strings.Index(file.Name[max(at, 0):], "/")
		if at < 0 || slash < 0 || file.FileInfo().IsDir() {
			continue
		}
		rel := path.Clean(file.Name[at+slash+1:])
		if !under(rel, folders) {
			continue
		}
		if rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
			return count, fmt.Errorf("%s: entry %q leaves the module", zipPath, file.Name)
		}
		if err := write(file, filepath.Join(destination, filepath.FromSlash(rel))); err != nil {
			return count, err
		}
		count++
	}
	if count == 0 {
		return 0, fmt.Errorf("%s: no file under %s", zipPath, strings.Join(folders, ", "))
	}
	return count, nil
}

func under(rel string, folders []string) bool {
	for _, folder := range folders {
		folder = strings.Trim(path.Clean(folder), "/")
		if rel == folder || strings.HasPrefix(rel, folder+"/") {
			return true
		}
	}
	return false
}

func write(file *zip.File, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	in, err := file.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
