//go:build e2e

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

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// curlLine is the line "make demo" prints for the demo machine's iPXE script.
var curlLine = regexp.MustCompile(`curl -H 'X-Forwarded-For: ([0-9.]+)' (http://127\.0\.0\.1:[0-9]+/ipxe/script/auto\.ipxe)`)

// TestDemo runs the demo as "make demo" does and as a user reads it: it comes up, prints the curl line, the line
// works (Smee answers the demo machine through the forwarded port), and Ctrl-C stops it cleanly.
func TestDemo(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "kubetink-demo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./test/e2e/cmd/demo")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "go build the demo: %s", out)

	work := filepath.Join(t.TempDir(), "demo")
	demo := exec.CommandContext(ctx, bin, "-repo-root", repoRoot, "-work-dir", work, "-kubetink", kubetinkBin)
	demo.Env = os.Environ() // the control plane, cluster, Flux and Tinkerbell binaries, as make passes them
	stdout, err := demo.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	var stderr strings.Builder
	demo.Stderr = &stderr
	g.Expect(demo.Start()).To(Succeed())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = demo.Process.Signal(syscall.SIGINT)
			_ = demo.Wait()
		}
	})

	// Read the demo's output until the curl line; keep draining it afterwards so the demo never blocks.
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var printed []string
	var match []string
	for match == nil {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before printing the curl line:\n%s\n%s", strings.Join(printed, "\n"), stderr.String())
			}
			printed = append(printed, line)
			match = curlLine.FindStringSubmatch(line)
		case <-ctx.Done():
			t.Fatalf("no curl line after 4 minutes:\n%s\n%s", strings.Join(printed, "\n"), stderr.String())
		}
	}
	go func() {
		for line := range lines {
			_ = line // the rest of the output is not needed; reading it keeps the demo from blocking
		}
	}()
	t.Logf("the demo printed: %s", strings.TrimSpace(match[0]))

	// The line works as printed: the machine's script through the trusted proxy, and 404 without the header.
	code, script := httpGet(g, match[2], match[1])
	g.Expect(code).To(Equal(200), script)
	g.Expect(script).To(ContainSubstring("grpc_authority=192.168.2.111:42113"), "examples/minimal.yaml's public IP")
	g.Expect(script).To(ContainSubstring("set download-url http://192.168.2.112:7173"), "examples/minimal.yaml's artifacts file server")
	code, _ = httpGet(g, match[2], "")
	g.Expect(code).To(Equal(404))

	// Ctrl-C stops everything and the demo exits 0.
	g.Expect(demo.Process.Signal(syscall.SIGINT)).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- demo.Wait() }()
	select {
	case err := <-done:
		stopped = true
		g.Expect(err).NotTo(HaveOccurred(), "the demo's exit: %s", stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop within a minute of Ctrl-C")
	}
	g.Expect(processesUnder(work)).To(BeEmpty(), "processes of the demo still run after it exited")
}

// processesUnder lists the running processes whose command line or environment names dir: every process the
// demo starts but the control plane takes a path in its work directory (a kubeconfig, the storage, a log).
func processesUnder(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name() == "self" || e.Name() == "thread-self" {
			continue
		}
		var seen string
		for _, f := range []string{"cmdline", "environ"} {
			data, err := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if err == nil {
				seen += strings.ReplaceAll(string(data), "\x00", " ")
			}
		}
		if strings.Contains(seen, dir) {
			out = append(out, e.Name())
		}
	}
	return out
}
