/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command kubetink is the Kubetink operator and its command line tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubetink/kubetink/internal/startup"
)

// shortLived marks a command that runs for milliseconds and keeps the start-up collector settings to the end
// (see internal/startup). Every other command restores the process's own settings before it runs.
const shortLived = "kubetink.io/short-lived"

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kubetink",
		Short:         "Install and upgrade Tinkerbell the GitOps way",
		Long:          "Kubetink turns Tinkerbell objects into Flux or Argo CD objects that install, upgrade and report on the Tinkerbell bare-metal provisioning stack.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			if cmd.Annotations[shortLived] != "true" {
				startup.Done()
			}
		},
	}
	root.AddCommand(newManagerCommand(), newVersionCommand(), newRenderCommand(), newMigrateCommand())
	return root
}
