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

// Command maxrss runs a command and writes its peak resident set size and CPU time to the file named by
// $MAXRSS_OUT, as "<ru_maxrss KiB> <CPU seconds>", then exits with the command's status.
//
// The migration harness measures kubetink through it rather than reading the rusage of a process it started
// itself: Go starts processes with vfork, and Linux records the high-water RSS of the memory a process leaves at
// exec (here, its parent's) in that process's ru_maxrss. Started from the big harness, kubetink would report the
// harness's peak whenever that is the larger; started from this small program, at most this program's few MiB.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 || os.Getenv("MAXRSS_OUT") == "" {
		fmt.Fprintln(os.Stderr, "usage: MAXRSS_OUT=<file> maxrss <command> [args...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "no rusage")
		os.Exit(2)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	if err := os.WriteFile(os.Getenv("MAXRSS_OUT"), fmt.Appendf(nil, "%d %.3f\n", ru.Maxrss, cpu), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
