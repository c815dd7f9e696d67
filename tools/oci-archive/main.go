// Command oci-archive assembles levee's image from layer trees into one tar that is both an
// OCI image layout (oci-layout, index.json, blobs/) and a docker-archive (manifest.json), so
// `docker load` and `podman load` both take it. go-containerregistry builds the manifest and
// config; this file only makes every byte reproducible: entries sorted, owners 0:0 unless
// given, mtimes fixed to SOURCE_DATE_EPOCH, layers gzipped at a fixed level.
//
//	oci-archive -out levee.tar -tag levee:0.1.0 -config config.json -epoch 1700000000 \
//	    -layer tar:rootfs.tar -layer dir:/staging/node=/usr/local -layer dir:/staging/app=/app
//
// It prints the image's manifest digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type layerFlags []string

func (l *layerFlags) String() string     { return strings.Join(*l, ",") }
func (l *layerFlags) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var layers layerFlags
	out := flag.String("out", "", "archive to write")
	tag := flag.String("tag", "", "repository:tag the archive loads as")
	configPath := flag.String("config", "", "JSON image config (Entrypoint, Cmd, User, Env, WorkingDir, ExposedPorts, Labels)")
	epoch := flag.Int64("epoch", -1, "SOURCE_DATE_EPOCH: every mtime and the created time")
	flag.Var(&layers, "layer", "tar:<file> (kept in its order, mtimes clamped) or dir:<src>=<dest> (walked in name order); repeatable")
	flag.Parse()
	if *out == "" || *tag == "" || *configPath == "" || *epoch < 0 || len(layers) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	digest, err := build(*out, *tag, *configPath, time.Unix(*epoch, 0).UTC(), layers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci-archive:", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}

func build(out, tag, configPath string, created time.Time, specs []string) (string, error) {
	var config v1.Config
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return "", err
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&config); err != nil {
		return "", fmt.Errorf("%s: %w", configPath, err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, spec := range specs {
		data, description, err := layerTar(spec, created)
		if err != nil {
			return "", fmt.Errorf("layer %s: %w", spec, err)
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression))
		if err != nil {
			return "", err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: description, Comment: "levee npm run image"}})
		if err != nil {
			return "", err
		}
	}
	file, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	file = file.DeepCopy()
	file.Architecture, file.OS, file.Config = "amd64", "linux", config
	file.Created = v1.Time{Time: created}
	if img, err = mutate.ConfigFile(img, file); err != nil {
		return "", err
	}
	return writeArchive(out, tag, img, created)
}

// layerTar returns an uncompressed, reproducible layer tar for one -layer spec.
func layerTar(spec string, created time.Time) ([]byte, string, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok {
		return nil, "", errors.New("expected tar:<file> or dir:<src>=<dest>")
	}
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	switch kind {
	case "tar":
		if err := copyClamped(w, arg, created); err != nil {
			return nil, "", err
		}
		kind = "root filesystem " + filepath.Base(arg)
	case "dir":
		src, dest, ok := strings.Cut(arg, "=")
		if !ok || !strings.HasPrefix(dest, "/") {
			return nil, "", errors.New("expected dir:<src>=</absolute/dest>")
		}
		if err := addTree(w, src, strings.TrimPrefix(path.Clean(dest), "/"), created); err != nil {
			return nil, "", err
		}
		kind = "COPY " + filepath.Base(src) + " " + dest
	default:
		return nil, "", fmt.Errorf("unknown layer kind %q", kind)
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), kind, nil
}

// copyClamped copies a tar in its own order (hard links must follow their targets), with no
// mtime later than created and no access or change times.
func copyClamped(w *tar.Writer, file string, created time.Time) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r := tar.NewReader(f)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		normalize(h)
		if h.ModTime.After(created) || h.ModTime.IsZero() {
			h.ModTime = created
		}
		if err := w.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
	}
}

// addTree writes src's tree under dest: directories first, names sorted, owned by root,
// modes reduced to 0755 (directories and executables) or 0644, every mtime = created.
func addTree(w *tar.Writer, src, dest string, created time.Time) error {
	parts := strings.Split(dest, "/")
	for i := range parts {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: strings.Join(parts[:i+1], "/") + "/", Mode: 0o755, ModTime: created}
		normalize(h)
		if err := w.WriteHeader(h); err != nil {
			return err
		}
	}
	var paths []string
	if err := filepath.WalkDir(src, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != src {
			paths = append(paths, p)
		}
		return nil
	}); err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := path.Join(dest, filepath.ToSlash(rel))
		h := &tar.Header{Name: name, ModTime: created, Mode: 0o644}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, target, 0o777
		case info.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		case info.Mode().IsRegular():
			h.Typeflag, h.Size = tar.TypeReg, info.Size()
			if info.Mode()&0o111 != 0 {
				h.Mode = 0o755
			}
		default:
			return fmt.Errorf("%s: not a file, directory or symlink", p)
		}
		normalize(h)
		if err := w.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func normalize(h *tar.Header) {
	if h.Uname == "" && h.Uid == 0 {
		h.Uname = "root"
	}
	if h.Gname == "" && h.Gid == 0 {
		h.Gname = "root"
	}
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	h.Format = tar.FormatPAX
	h.PAXRecords = filterPAX(h.PAXRecords)
}

// filterPAX keeps extended attributes (file capabilities) and drops time records.
func filterPAX(records map[string]string) map[string]string {
	kept := map[string]string{}
	for k, v := range records {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			kept[k] = v
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func writeArchive(out, tag string, img v1.Image, created time.Time) (string, error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return "", err
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return "", err
	}
	configName, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	blobs := map[string][]byte{digest.Hex: manifest, configName.Hex: config}
	docker := dockerManifest{Config: "blobs/sha256/" + configName.Hex, RepoTags: []string{tag}}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	for _, layer := range layers {
		layerDigest, err := layer.Digest()
		if err != nil {
			return "", err
		}
		rc, err := layer.Compressed()
		if err != nil {
			return "", err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return "", err
		}
		blobs[layerDigest.Hex] = data
		docker.Layers = append(docker.Layers, "blobs/sha256/"+layerDigest.Hex)
	}
	repository, reference, _ := strings.Cut(tag, ":")
	index := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIImageIndex,
		"manifests": []map[string]any{{
			"mediaType": types.OCIManifestSchema1,
			"digest":    digest.String(),
			"size":      len(manifest),
			"annotations": map[string]string{
				"io.containerd.image.name":          "docker.io/library/" + repository + ":" + reference,
				"org.opencontainers.image.ref.name": reference,
			},
			"platform": map[string]string{"architecture": "amd64", "os": "linux"},
		}},
	}
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}
	if files["index.json"], err = json.Marshal(index); err != nil {
		return "", err
	}
	if files["manifest.json"], err = json.Marshal([]dockerManifest{docker}); err != nil {
		return "", err
	}
	for hex, data := range blobs {
		files["blobs/sha256/"+hex] = data
	}

	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	w := tar.NewWriter(f)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: created, Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
			return "", err
		}
	}
	for _, name := range names {
		data := files[name]
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o644, ModTime: created, Uname: "root", Gname: "root", Format: tar.FormatPAX}); err != nil {
			return "", err
		}
		if _, err := w.Write(data); err != nil {
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return digest.String(), os.Rename(tmp, out)
}
