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

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// gcCycle is the start of a GODEBUG=gctrace=1 line: one completed garbage collection. It is not anchored to
// the start of a line: the collector may print it into the middle of an inittrace line.
var gcCycle = regexp.MustCompile(`gc \d+ @[0-9.]+s \d+%:`)

// traceRender runs "kubetink render" as a process with the runtime's init and GC traces on, with env added to an
// environment free of GOGC and GOMEMLIMIT, and returns its standard error.
func traceRender(t *testing.T, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "render", "-f", filepath.Join("..", "..", "examples", "minimal.yaml"))
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") || strings.HasPrefix(kv, "GODEBUG=")
	})
	cmd.Env = append(cmd.Env, append([]string{"KUBETINK_TEST_RUN_MAIN=1", "GODEBUG=inittrace=1,gctrace=1"}, env...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubetink render: %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

// TestStartup_NoCollectionInShortLivedCommands checks that "kubetink render" runs without a single garbage
// collection: the start-up package turns the collector off before client-go and controller-runtime initialise.
func TestStartup_NoCollectionInShortLivedCommands(t *testing.T) {
	trace := traceRender(t)
	if n := len(gcCycle.FindAllString(trace, -1)); n != 0 {
		t.Errorf("render ran %d garbage collections, want none:\n%s", n, trace)
	}

	// The package must initialise before the heavy ones, or it comes too late to matter.
	var inits []string
	for line := range strings.SplitSeq(trace, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			inits = append(inits, f[1])
		}
	}
	startupAt := slices.Index(inits, "github.com/kubetink/kubetink/internal/startup")
	if startupAt < 0 {
		t.Fatalf("internal/startup did not initialise; inits: %v", inits)
	}
	for _, heavy := range []string{"k8s.io/client-go/kubernetes/scheme", "sigs.k8s.io/controller-runtime/pkg/client/apiutil"} {
		if at := slices.Index(inits, heavy); at < startupAt {
			t.Errorf("%s initialised at position %d, before internal/startup at %d", heavy, at, startupAt)
		}
	}
}

// TestStartup_UserSettingWins checks that a user's GOGC is left alone, which also shows the check above can
// fail: with the collector on, the same render collects.
func TestStartup_UserSettingWins(t *testing.T) {
	trace := traceRender(t, "GOGC=100")
	if n := len(gcCycle.FindAllString(trace, -1)); n == 0 {
		t.Errorf("render with GOGC=100 ran no garbage collection; the start-up package overrode the user's setting:\n%s", trace)
	}
}

// TestStartup_LongRunningCommandsRestoreTheCollector checks which commands keep the start-up settings: only the
// ones that finish in milliseconds. The manager and migrations must run with the collector on.
func TestStartup_LongRunningCommandsRestoreTheCollector(t *testing.T) {
	var short []string
	for _, cmd := range newRootCommand().Commands() {
		if cmd.Annotations[shortLived] == "true" {
			short = append(short, cmd.Name())
		}
	}
	if want := []string{"render", "version"}; !slices.Equal(short, want) {
		t.Errorf("short-lived commands = %v, want %v", short, want)
	}
}
