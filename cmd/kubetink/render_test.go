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
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the kubetink command in-process with args and returns its output and error.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestRenderCommand(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "proxy-dhcp.yaml")
	golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "render", "testdata", "proxy-dhcp.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The golden files are rendered with these facts.
	facts := []string{"--node-cidr", "10.244.1.0/24,10.244.0.0/24", "--node-cidr", "10.244.1.0/24", "--load-balancer-ip", "192.168.2.50"}

	out, err := runCLI(t, "", append([]string{"render", "-f", example}, facts...)...)
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}
	if out != string(golden) {
		t.Errorf("output differs from internal/render/testdata/proxy-dhcp.golden.yaml:\n%s", out)
	}

	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	stdinOut, err := runCLI(t, string(data), append([]string{"render", "-f", "-"}, facts...)...)
	if err != nil || stdinOut != out {
		t.Errorf("render -f - = %v; output equal to -f FILE: %v", err, stdinOut == out)
	}
}

// TestRenderCommandSites renders the sites of examples/multi-site.yaml together: as internal/render's golden file,
// with the CRDs rendered once.
func TestRenderCommandSites(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "render", "testdata", "multi-site.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "", "render", "-f", filepath.Join("..", "..", "examples", "multi-site.yaml"),
		"--node-cidr", "10.244.1.0/24,10.244.0.0/24", "--load-balancer-ip", "192.168.2.50")
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}
	if out != string(golden) {
		t.Errorf("output differs from internal/render/testdata/multi-site.golden.yaml:\n%s", out)
	}
	if n := strings.Count(out, "\nkind: GitRepository\n"); n != 1 {
		t.Errorf("the sites render %d CRD GitRepositories, want one", n)
	}
	if n := strings.Count(out, "\nkind: HelmRelease\n"); n != 2 {
		t.Errorf("the sites render %d HelmReleases, want two", n)
	}
}

func TestRenderCommandEngine(t *testing.T) {
	facts := []string{"--node-cidr", "10.244.1.0/24,10.244.0.0/24", "--load-balancer-ip", "192.168.2.50"}
	for _, tt := range []struct {
		example, engine, golden string
	}{
		{"minimal", "argocd", filepath.Join("argocd", "minimal.golden.yaml")},
		{"legacy-stack-0.6.2", "ArgoCD", filepath.Join("argocd", "legacy-stack-0.6.2.golden.yaml")},
		{"minimal", "flux", "minimal.golden.yaml"},
	} {
		t.Run(tt.example+"/"+tt.engine, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "render", "testdata", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"render", "-f", filepath.Join("..", "..", "examples", tt.example+".yaml"), "--engine", tt.engine}, facts...)
			out, err := runCLI(t, "", args...)
			if err != nil {
				t.Fatalf("render failed: %v", err)
			}
			if out != string(golden) {
				t.Errorf("output differs from internal/render/testdata/%s:\n%s", tt.golden, out)
			}
		})
	}
}

func TestRenderCommandErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	minimal, err := os.ReadFile(filepath.Join("..", "..", "examples", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	unsupported := write("old.yaml", strings.Replace(string(minimal), "v0.25.0", "v0.18.3", 1))
	typo := write("typo.yaml", strings.Replace(string(minimal), "artifactsFileServer", "artifactServer", 1))
	noArtifacts := write("no-artifacts.yaml", strings.Replace(string(minimal), "artifactsFileServer: http://192.168.2.112:7173", "", 1))
	// Two sites of one cluster: the second also serves every namespace, the unified chart's default.
	second := strings.Replace(strings.Replace(string(minimal), "name: tinkerbell", "name: second", 1), "192.168.2.111", "192.168.3.111", 1)
	overlap := write("overlap.yaml", string(minimal)+"---\n"+strings.Replace(second, "spec:", "spec:\n  targetNamespace: second", 1))
	twice := write("twice.yaml", string(minimal)+"---\n"+string(minimal))
	// What the API refuses: a negative replica count (OpenAPI minimum) and a public IP that is no IPv4 address (a CEL
	// rule), in one object; a name over 63 characters (the CRD's root CEL rule).
	refused := write("refused.yaml", strings.Replace(string(minimal), "spec:", "spec:\n  deployment:\n    replicas: -1", 1))
	refused = write("refused.yaml", strings.Replace(mustRead(t, refused), "192.168.2.111", "300.1.1.1", 1))
	longName := write("long-name.yaml", strings.Replace(string(minimal), "name: tinkerbell", "name: "+strings.Repeat("t", 64), 1))

	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"unsupported version", []string{"render", "-f", unsupported}, []string{"old.yaml", "spec.version", `unsupported Tinkerbell version "v0.18.3"`, "0.6.2", "v0.25.0"}},
		{"unknown field", []string{"render", "-f", typo}, []string{"typo.yaml", `unknown field "spec.artifactServer"`}},
		{"missing field", []string{"render", "-f", noArtifacts}, []string{"spec.artifactsFileServer is required"}},
		{"missing file", []string{"render", "-f", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
		{"no file flag", []string{"render"}, []string{`"file" not set`}},
		{"bad node CIDR", []string{"render", "-f", unsupported, "--node-cidr", "10.0.0.1"}, []string{"--node-cidr", "10.0.0.1"}},
		{"bad LoadBalancer IP", []string{"render", "-f", unsupported, "--load-balancer-ip", "fd00::1"}, []string{"--load-balancer-ip"}},
		{"unknown engine", []string{"render", "-f", unsupported, "--engine", "helm"}, []string{`--engine "helm"`, "flux or argocd"}},
		{"overlapping sites", []string{"render", "-f", overlap}, []string{"overlap.yaml", "SiteConflict", "serves every namespace", "spec.scope Namespace"}},
		{"a Tinkerbell twice", []string{"render", "-f", twice}, []string{"twice.yaml", "kubetink-system/tinkerbell appears twice"}},
		{"refused by the schema", []string{"render", "-f", refused}, []string{
			"refused.yaml: the API would refuse:\n",
			"\nTinkerbell kubetink-system/tinkerbell: spec.deployment.replicas: Invalid value: -1: spec.deployment.replicas in body should be greater than or equal to 0\n",
			"\nTinkerbell kubetink-system/tinkerbell: spec.publicIP: Invalid value: \"300.1.1.1\": must be an IPv4 address",
		}},
		{"name too long", []string{"render", "-f", longName}, []string{"long-name.yaml", "metadata.name may be at most 63 characters"}},
		{"refused by Argo CD", []string{"render", "-f", filepath.Join("..", "..", "examples", "ha-placement.yaml"), "--engine", "argocd"}, []string{"ha-placement.yaml", "spec.valuesFrom is not supported with spec.engine ArgoCD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, "", tt.args...)
			if err == nil {
				t.Fatal("render succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestRenderCommandExitCode runs the real binary path (main) and checks the exit code and the message on stderr.
func TestRenderCommandExitCode(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: kubetink.io/v1alpha1\nkind: Tinkerbell\nmetadata: {name: t}\n"+
		"spec: {version: v9.9.9, publicIP: 192.168.2.10, artifactsFileServer: http://192.168.2.11:7173}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "render", "-f", bad)
	cmd.Env = append(os.Environ(), "KUBETINK_TEST_RUN_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() == 0 {
		t.Fatalf("exit = %v, want a non-zero exit code", err)
	}
	if !strings.Contains(stderr.String(), `unsupported Tinkerbell version "v9.9.9"`) {
		t.Errorf("stderr = %q, want the unsupported version named", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing on failure", stdout.String())
	}

	good := exec.Command(os.Args[0], "render", "-f", filepath.Join("..", "..", "examples", "legacy-stack-0.6.2.yaml"))
	good.Env = cmd.Env
	out, err := good.Output()
	if err != nil {
		t.Fatalf("render of an example failed: %v", err)
	}
	if n := strings.Count(string(out), "\n---\n") + 1; n != 5 {
		t.Errorf("legacy example rendered %d documents, want 5", n)
	}
}

// TestRenderCommandDefaultServiceAccount: --default-service-account shows what the manager's flag of that name
// makes: tenant.yaml, which names its account, renders as its golden file; the same Tinkerbell without one
// renders with the default account in its place.
func TestRenderCommandDefaultServiceAccount(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "tenant.yaml")
	golden, err := os.ReadFile(filepath.Join("..", "..", "internal", "render", "testdata", "tenant.golden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "", "render", "-f", example, "--default-service-account", "flux-default")
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}
	if out != string(golden) {
		t.Errorf("spec.serviceAccountName lost to --default-service-account:\n%s", out)
	}
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	unnamed := strings.Replace(string(data), "  serviceAccountName: flux-tenant\n", "", 1)
	out, err = runCLI(t, unnamed, "render", "-f", "-", "--default-service-account", "flux-tenant")
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}
	if unnamed == string(data) || out != string(golden) {
		t.Errorf("--default-service-account does not fill an empty spec.serviceAccountName:\n%s", out)
	}
}

// TestRenderCommandPolicy: with the manager's policy flags, render refuses what the operator would, with the
// operator's reason and message, and renders Applications in the pinned Argo CD namespace.
func TestRenderCommandPolicy(t *testing.T) {
	example := filepath.Join("..", "..", "examples", "minimal.yaml")
	if _, err := runCLI(t, "", "render", "-f", example); err != nil {
		t.Fatalf("render without a policy failed: %v", err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--allowed-chart-url-prefixes", "oci://ghcr.io/tinkerbell/chart"},
			`ChartURLNotAllowed: the chart URL of v0.25.0, "oci://ghcr.io/tinkerbell/charts/tinkerbell", is not allowed by the cluster admin's allowed-chart-url-prefixes`},
		{[]string{"--allowed-crd-source-prefixes", "https://github.com/tinkerbell/tinkerbell-evil"},
			`CRDSourceNotAllowed: the CRD source of v0.25.0, "https://github.com/tinkerbell/tinkerbell", is not allowed`},
		{[]string{"--allowed-target-namespaces", "sites-*,lab"},
			`TargetNamespaceNotAllowed: spec.targetNamespace "tinkerbell" is not allowed by the cluster admin's allowed-target-namespaces: use one matching sites-*, lab`},
		{[]string{"--engine", "argocd", "--argocd-allowed-projects", "tinkerbell"},
			`ArgoCDProjectNotAllowed: the default Argo CD project "default" is not allowed`},
		{[]string{"--allowed-chart-url-prefixes", "ghcr.io/tinkerbell"}, `--allowed-chart-url-prefixes: "ghcr.io/tinkerbell" is not an absolute URL`},
	} {
		_, err := runCLI(t, "", append([]string{"render", "-f", example}, tc.flags...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("render %v = %v, want an error containing %q", tc.flags, err, tc.want)
		}
	}
	allowed := []string{"--allowed-chart-url-prefixes", "oci://ghcr.io/tinkerbell/charts", "--allowed-crd-source-prefixes",
		"https://github.com/tinkerbell", "--allowed-target-namespaces", "tinkerbell", "--argocd-allowed-projects", "default"}
	if _, err := runCLI(t, "", append([]string{"render", "-f", example}, allowed...)...); err != nil {
		t.Errorf("render with a policy that allows the example failed: %v", err)
	}
	out, err := runCLI(t, "", "render", "-f", example, "--engine", "argocd", "--argocd-namespace", "gitops")
	if err != nil {
		t.Fatalf("render --argocd-namespace failed: %v", err)
	}
	if n := strings.Count(out, "kind: Application\n"); n == 0 || strings.Count(out, "\n  namespace: gitops\n") != n {
		t.Errorf("want every Application in namespace gitops:\n%s", out)
	}
}
