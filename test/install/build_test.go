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

package install

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

// testVersion is the version the test build stamps into the binary.
const testVersion = "v9.9.9-test"

// dockerfile is the Dockerfile split into its stages, each a list of instructions (continuation lines joined).
type dockerfile struct {
	stages [][]string
}

func parseDockerfile() (*dockerfile, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		return nil, err
	}
	d := &dockerfile{}
	var cont string
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if before, ok := strings.CutSuffix(line, "\\"); ok {
			cont += before + " "
			continue
		}
		line, cont = cont+line, ""
		if strings.HasPrefix(line, "FROM ") {
			d.stages = append(d.stages, nil)
		}
		if len(d.stages) == 0 {
			return nil, fmt.Errorf("instruction before FROM: %s", line)
		}
		d.stages[len(d.stages)-1] = append(d.stages[len(d.stages)-1], line)
	}
	return d, nil
}

// buildDir holds the replayed build; TestMain removes it.
var buildDir string

// builtBinary is the kubetink binary built the way the Dockerfile's builder stage builds it, once per test binary.
var builtBinary = sync.OnceValues(func() (string, error) {
	d, err := parseDockerfile()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "kubetink-docker-build-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	if err := replayBuilder(d.stages[0], dir); err != nil {
		return "", err
	}
	return filepath.Join(dir, "bin", "kubetink"), nil
})

// replayBuilder runs a builder stage without a Docker engine: its COPY instructions copy from the repository into
// an empty directory standing for WORKDIR, and its RUN instructions run there, with ${VERSION} as testVersion. So
// the build sees exactly the Dockerfile's build context, and nothing else of the repository (not even .git).
func replayBuilder(stage []string, dir string) error {
	for _, ins := range stage {
		op, rest, _ := strings.Cut(ins, " ")
		switch op {
		case "COPY":
			fields := strings.Fields(rest)
			if strings.HasPrefix(fields[0], "--") {
				return fmt.Errorf("unexpected COPY flag in the builder stage: %s", ins)
			}
			srcs, dest := fields[:len(fields)-1], fields[len(fields)-1]
			for _, src := range srcs {
				target := filepath.Join(dir, dest)
				if strings.HasSuffix(src, "/") {
					target = filepath.Join(dir, dest) // "COPY a/ a/" copies the contents of a into a
				} else if strings.HasSuffix(dest, "/") {
					target = filepath.Join(dir, dest, filepath.Base(src))
				}
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					return err
				}
				if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, src), target).CombinedOutput(); err != nil {
					return fmt.Errorf("%s: %w: %s", ins, err, out)
				}
			}
		case "RUN":
			cmd := exec.Command("bash", "-ec", strings.ReplaceAll(rest, "${VERSION}", testVersion))
			cmd.Dir = dir
			// The golang image builds with cgo on; the Makefile alone must turn it off.
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOTOOLCHAIN=local")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", ins, err, out)
			}
		}
	}
	return nil
}

func binary(t *testing.T) string {
	t.Helper()
	path, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// The Dockerfile builds with "make build" and nothing else, and ships the binary alone in a non-root static
// image as the user the Deployment runs as.
func TestDockerfile_BuildsWithMakeIntoAMinimalNonRootImage(t *testing.T) {
	g := NewWithT(t)
	d, err := parseDockerfile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(d.stages).To(HaveLen(2), "multi-stage: builder and runtime")

	builder, final := d.stages[0], d.stages[1]
	g.Expect(builder[0]).To(MatchRegexp(`^FROM golang:1\.26\S* AS builder$`))
	var runs []string
	for _, ins := range builder {
		if strings.HasPrefix(ins, "RUN ") {
			runs = append(runs, ins)
		}
	}
	g.Expect(runs).To(ContainElement("RUN make build VERSION=${VERSION}"))
	g.Expect(strings.Join(runs, "\n")).NotTo(ContainSubstring("go build"), "the build flags live in the Makefile only")

	g.Expect(final).To(Equal([]string{
		"FROM gcr.io/distroless/static:nonroot",
		"COPY --from=builder /src/bin/kubetink /usr/local/bin/kubetink",
		"USER 65532:65532",
		`ENTRYPOINT ["/usr/local/bin/kubetink"]`,
		`CMD ["manager"]`,
	}))
	c := managerContainer(t, deployment(t, defaultObjects(t)))
	g.Expect(c.Command).To(BeEmpty(), "the Deployment keeps the image's entrypoint")
	g.Expect(c.Args).To(HaveExactElements(append([]any{"manager"}, anyArgs(len(c.Args)-1)...)...), "the manager subcommand comes first")
}

// "make build", as the Dockerfile runs it, makes a static, stripped, version-stamped binary with no build paths.
func TestMakeBuild_StaticStampedBinary(t *testing.T) {
	g := NewWithT(t)
	path := binary(t)

	f, err := elf.Open(path)
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	for _, p := range f.Progs {
		g.Expect(p.Type).NotTo(Equal(elf.PT_INTERP), "a static binary needs no dynamic loader")
		g.Expect(p.Type).NotTo(Equal(elf.PT_DYNAMIC), "a static binary has no dynamic section")
	}
	libs, err := f.ImportedLibraries()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(libs).To(BeEmpty(), "no DT_NEEDED libraries")
	g.Expect(f.Section(".symtab")).To(BeNil(), "stripped (-s)")
	g.Expect(f.Section(".debug_info")).To(BeNil(), "no DWARF (-w)")

	data, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bytes.Contains(data, []byte(filepath.Dir(filepath.Dir(path))))).To(BeFalse(), "-trimpath: no build directory in the binary")

	out, err := exec.Command(path, "version").CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "%s", out)
	g.Expect(string(out)).To(HavePrefix("kubetink " + testVersion + " "))
}

func anyArgs(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = HavePrefix("--")
	}
	return out
}
