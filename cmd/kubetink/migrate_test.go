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
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/testutil"
)

// migrateTestdata is the migration package's test data: upstream-shaped objects and the CRD written for them.
var migrateTestdata = filepath.Join("..", "..", "internal", "migration", "testdata")

// runMigrateCLI runs "kubetink <args>" in-process and returns its output.
func runMigrateCLI(args ...string) (string, error) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// unreachableKubeconfig writes a kubeconfig whose server nothing listens on: enough for the checks that run
// before the first request.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMigrateCommandErrors(t *testing.T) {
	kubeconfig := unreachableKubeconfig(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown phase", []string{"--from", "0.6.2", "--to", "v0.19.0", "--phase", "during"}, `unknown phase "during"`},
		{"missing from", []string{"--to", "v0.19.0"}, "--from and --to are required"},
		{"downgrade", []string{"--from", "v0.22.1", "--to", "v0.19.0"}, "downgrade from v0.22.1 to v0.19.0 is not supported"},
		{"legacy to v0.18", []string{"--from", "0.6.2", "--to", "v0.18.3"}, "can only be upgraded to v0.19.0 or later"},
		{"unknown version", []string{"--from", "stack", "--to", "v0.19.0"}, `unknown version "stack"`},
		{"port moves need the address", []string{"--kubeconfig", kubeconfig, "--from", "v0.22.1", "--to", "v0.23.0"}, "--public-ip"},
		{"bad public IP", []string{"--kubeconfig", kubeconfig, "--from", "v0.22.1", "--to", "v0.23.0", "--public-ip", "tink"}, `invalid public IP "tink"`},
		{"bad Tinkerbell host", []string{"--kubeconfig", kubeconfig, "--from", "v0.22.1", "--to", "v0.23.0", "--tinkerbell-host", "http://tink:7080"}, `invalid Tinkerbell host "http://tink:7080"`},
		{"bad artifacts file server", []string{"--kubeconfig", kubeconfig, "--from", "0.6.2", "--to", "v0.25.0", "--public-ip", "10.0.0.1",
			"--artifacts-file-server", "10.0.0.2:7173"}, `--artifacts-file-server: invalid artifacts file server "10.0.0.2:7173"`},
		{"artifacts file server with a query", []string{"--from", "0.6.2", "--to", "v0.25.0", "--artifacts-file-server", "http://10.0.0.2:7173/?x"}, "an optional path only"},
		{"unknown restore", []string{"--restore", "nope"}, `unknown migration "nope"`},
		{"restore all needs versions", []string{"--restore", "all"}, "--restore all needs --from and --to"},
		{"restore all alone", []string{"--restore", "all,tink-agent-image"}, "cannot be combined"},
		{"missing kubeconfig", []string{"--kubeconfig", "/nonexistent/kubeconfig", "--from", "v0.19.0", "--to", "v0.20.0"}, "failed to load the Kubernetes client config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := runMigrateCLI(append([]string{"migrate"}, tt.args...)...)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestMigrateCommandNothingToDo(t *testing.T) {
	g := NewWithT(t)
	out, err := runMigrateCLI("migrate", "--kubeconfig", unreachableKubeconfig(t), "--from", "v0.20.0", "--to", "v0.21.0")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("No migrations for v0.20.0 → v0.21.0 in phase all.\n"))
}

// TestMigrateCommandExitCode runs the real binary path (main) and checks the exit code and the message.
func TestMigrateCommandExitCode(t *testing.T) {
	g := NewWithT(t)
	cmd := exec.Command(os.Args[0], "migrate", "--from", "v0.22.1", "--to", "v0.19.0")
	cmd.Env = append(os.Environ(), "KUBETINK_TEST_RUN_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	g.Expect(errors.As(err, &exitErr)).To(BeTrue(), "want a non-zero exit, got %v", err)
	g.Expect(exitErr.ExitCode()).NotTo(BeZero())
	g.Expect(stderr.String()).To(Equal("Error: downgrade from v0.22.1 to v0.19.0 is not supported\n"))
	g.Expect(stdout.String()).To(BeEmpty())
}

// TestMigrateCommand runs "kubetink migrate" against a real apiserver serving the legacy stack 0.6.2 CRDs.
func TestMigrateCommand(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{TinkerbellCRDs: "0.6.2", CRDDirs: []string{
		filepath.Join(migrateTestdata, "crds", "eksa-baseboardmanagement"),
	}})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	for _, ns := range []string{"tink", "kubetink-backups"} {
		g.Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	createMigrateObjects(t, dyn, filepath.Join(migrateTestdata, "objects", "stack-0.6.2.yaml"))
	base := []string{"migrate", "--kubeconfig", env.Kubeconfig, "--from", "0.6.2", "--to", "v0.22.1",
		"--public-ip", "192.168.2.111", "--backup-namespace", "kubetink-backups"}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	reinstallNote := "  note: the reconciler uninstalls the legacy stack release and installs the unified chart; CRDs and objects are kept\n"

	t.Run("dry run", func(t *testing.T) {
		g := NewWithT(t)
		out, err := runMigrateCLI(args("--phase", "pre", "--dry-run")...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("Dry run: the apiserver validates every change but stores nothing.\n" +
			"stack-reinstall: scanned 0, changed 0, skipped 0\n" + reinstallNote +
			"workflow-status-capture: scanned 3, changed 3, skipped 0\n" +
			"template-rendering-capture: scanned 3, changed 3, skipped 0\n" +
			"bmc-job-machineref: scanned 1, changed 0, skipped 1\n"))
		wf, err := dyn.Resource(migration.Workflows.GVR()).Namespace("tink").Get(ctx, "wf-success", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(wf.GetAnnotations()).To(BeEmpty())
	})

	t.Run("pre", func(t *testing.T) {
		g := NewWithT(t)
		out, err := runMigrateCLI(args("--phase", "pre", "-v")...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("stack-reinstall: scanned 0, changed 0, skipped 0\n" + reinstallNote +
			"workflow-status-capture: scanned 3, changed 3, skipped 0\n" +
			"  changed Workflow tink/wf-failed\n  changed Workflow tink/wf-pending\n  changed Workflow tink/wf-success\n" +
			"template-rendering-capture: scanned 3, changed 3, skipped 0\n" +
			"  changed Workflow tink/wf-failed\n  changed Workflow tink/wf-pending\n  changed Workflow tink/wf-success\n" +
			"bmc-job-machineref: scanned 1, changed 0, skipped 1\n"))

		out, err = runMigrateCLI(args("--phase", "pre")...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("workflow-status-capture: scanned 3, changed 0, skipped 3\n"))
		g.Expect(out).To(ContainSubstring("template-rendering-capture: scanned 3, changed 0, skipped 3\n"))
	})

	t.Run("post before the new CRDs are installed", func(t *testing.T) {
		g := NewWithT(t)
		out, err := runMigrateCLI(args("--phase", "post")...)
		g.Expect(err).To(MatchError(And(
			ContainSubstring("migration workflow-status-convert failed"),
			ContainSubstring("the installed CRD workflows.tinkerbell.org does not declare status.agentID"),
		)))
		g.Expect(out).To(Equal("workflow-status-convert: scanned 0, changed 0, skipped 0\n"))
	})

	t.Run("restore", func(t *testing.T) {
		g := NewWithT(t)
		out, err := runMigrateCLI(args("--phase", "pre", "--restore", "all")...)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(Equal("bmc-job-machineref: backups 0, restored 0, deleted 0, skipped 0\n" +
			"template-rendering-capture: backups 3, restored 3, deleted 0, skipped 0\n" +
			"workflow-status-capture: backups 3, restored 3, deleted 0, skipped 0\n" +
			"stack-reinstall: backups 0, restored 0, deleted 0, skipped 0\n"))
		wf, err := dyn.Resource(migration.Workflows.GVR()).Namespace("tink").Get(ctx, "wf-success", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(wf.GetAnnotations()).To(BeEmpty())
	})
}

// TestMigrateCommandRefusesSourceISO: "kubetink migrate --phase pre" refuses an upgrade across v0.24.0 while
// Workflows or bmc Jobs rely on the sourceISO query parameter that v0.24.0 ignores (migration.Refusals), even
// though the upgrade has no pre-upgrade migration.
func TestMigrateCommandRefusesSourceISO(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{TinkerbellCRDs: "v0.22.1"})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	g.Expect(env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tink"}})).To(Succeed())
	createMigrateObjects(t, dynamic.NewForConfigOrDie(env.Config), filepath.Join(migrateTestdata, "objects", "v0.22.1.yaml"))
	base := []string{"migrate", "--kubeconfig", env.Kubeconfig, "--from", "v0.22.1", "--to", "v0.24.0", "--phase", "pre"}
	hosts := []string{"--public-ip", "192.168.2.111", "--tinkerbell-host", "tinkerbell.example.com", "--tinkerbell-host", "fd00::10"}

	out, err := runMigrateCLI(append(base, hosts...)...)
	g.Expect(err).To(MatchError(And(
		ContainSubstring("the upgrade from v0.22.1 to v0.24.0 is refused until these objects are changed (or run with --skip-preflight):"),
		ContainSubstring("\n  Workflow tink/wf-iso-query: spec.bootOptions.isoURL: the ISO URL on Tinkerbell chooses its source ISO with the sourceISO query parameter"),
		ContainSubstring("\n  Workflow tink/wf-iso-preparing: spec.bootOptions.isoURL:"),
		ContainSubstring("\n  Workflow tink/wf-iso-hostname: spec.bootOptions.isoURL:"),
		ContainSubstring("\n  Workflow tink/wf-customboot: spec.bootOptions.custombootConfig.preparingActions[1].virtualMediaAction.mediaURL:"),
		ContainSubstring("\n  Job tink/iso-mount-wf-iso-preparing: spec.tasks[2].virtualMediaAction.mediaURL:"),
		ContainSubstring("\n  Job tink/machine2-iso: spec.tasks[1].virtualMediaAction.mediaURL:"),
	)))
	g.Expect(err.Error()).NotTo(ContainSubstring("wf-iso-done"))
	g.Expect(out).To(BeEmpty())

	_, err = runMigrateCLI(base...)
	g.Expect(err).To(MatchError(ContainSubstring("set the public IP (--public-ip)")), "without Tinkerbell's hosts no URL can be checked")

	out, err = runMigrateCLI(append(base, "--skip-preflight")...)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("No migrations for v0.22.1 → v0.24.0 in phase pre.\n"))

	post := append(append([]string{}, base[:len(base)-1]...), "post", "--dry-run")
	out, err = runMigrateCLI(append(post, hosts...)...)
	g.Expect(err).NotTo(HaveOccurred(), "the refusal guards the pre-upgrade phase, as the preflight does")
	g.Expect(out).To(ContainSubstring("tinkerbell-ports-v0.23.0: scanned"))
}

func createMigrateObjects(t *testing.T, dyn dynamic.Interface, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]migration.Target{}
	for _, tg := range migration.Targets() {
		targets[tg.Kind] = tg
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil || strings.TrimSpace(string(js)) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		rc := dyn.Resource(targets[obj.GetKind()].GVR()).Namespace(obj.GetNamespace())
		status, hasStatus := obj.Object["status"]
		created, err := rc.Create(context.Background(), obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if hasStatus {
			created.Object["status"] = status
			if _, err := rc.UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
