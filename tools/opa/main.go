// Command opa is the Open Policy Agent CLI at the version pinned in go.mod; levee
// uses it to test its Rego policies and compile them to wasm.
package main

import (
	"errors"
	"os"

	"github.com/open-policy-agent/opa/cmd"
)

func main() {
	if err := cmd.RootCommand.Execute(); err != nil {
		var exitErr *cmd.ExitError
		if errors.As(err, &exitErr) {
			os.Exit(exitErr.Exit)
		}
		os.Exit(1)
	}
}
