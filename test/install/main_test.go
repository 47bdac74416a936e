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

// Package install tests Kubetink as it is shipped: the config/default install applied with kubectl to a real
// kube-apiserver, its RBAC answered by the apiserver's own authorizer, its pod admitted under the restricted Pod
// Security Standard, the binary built the way the Dockerfile builds it, and that binary running as the manager's
// ServiceAccount and serving its metrics.
package install

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/internal/scheme"
	"github.com/kubetink/kubetink/internal/testutil"
)

const (
	// systemNamespace is where config/default installs the manager.
	systemNamespace = "kubetink-system"
	// managerUser is the manager's ServiceAccount as the apiserver's authorizer sees it.
	managerUser = "system:serviceaccount:" + systemNamespace + ":kubetink-manager"

	timeout  = 60 * time.Second
	interval = 100 * time.Millisecond
)

var (
	// ctxBackground is the context of API calls made outside a single test's lifetime concerns.
	ctxBackground = context.Background()

	env       *testutil.Environment
	k8sClient client.Client
	repoRoot  = testutil.RepoRoot()
)

func TestMain(m *testing.M) {
	// "make bench" runs the benchmarks alone (-run '^$'). BenchmarkCommand needs no control plane, and an idle
	// one would only add noise to the wall times it measures.
	flag.Parse()
	benchmarksOnly := flag.Lookup("test.run").Value.String() == "^$"
	if !benchmarksOnly {
		var err error
		env, err = testutil.Start(testutil.Options{FluxCRDs: true, ArgoCDCRDs: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		k8sClient = env.Client
	}
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// kubectl runs kubectl against the test apiserver as its administrator.
func kubectl(args ...string) (string, error) {
	return kubectlAs(env.Kubeconfig, args...)
}

func kubectlAs(kubeconfig string, args ...string) (string, error) {
	path, err := exec.LookPath("kubectl")
	if err != nil {
		return "", fmt.Errorf("kubectl is not on PATH; these tests run the kubectl a user installs with: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

var installOnce = sync.OnceValue(func() error {
	_, err := kubectl("apply", "--server-side", "-k", "config/default")
	return err
})

// installed applies config/default for real, once per test binary, as the README's Install section does.
func installed(t *testing.T) {
	t.Helper()
	if err := installOnce(); err != nil {
		t.Fatal(err)
	}
}

// defaultObjects returns what config/default renders, as kubectl's built-in kustomize builds it.
func defaultObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	out, err := kubectl("kustomize", "config/default")
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, out)
}

func decodeAll(t *testing.T, data string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				return objs
			}
			t.Fatalf("failed to decode: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// impersonatingConfig returns the administrator's config acting as user with groups; the apiserver authorizes
// every request as that user, which is how a ServiceAccount's token is authorized in a cluster.
func impersonatingConfig(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

func impersonatingClient(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	c, err := client.New(impersonatingConfig(user, groups...), client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serviceAccountGroups are the groups the apiserver gives a ServiceAccount's token.
func serviceAccountGroups(namespace string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// impersonatingKubeconfig writes a kubeconfig for subprocesses that acts as user (kubeconfig "as" and "as-groups").
func impersonatingKubeconfig(t *testing.T, user string, groups ...string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate, auth.ImpersonateGroups = user, groups
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func init() {
	SetDefaultEventuallyTimeout(timeout)
	SetDefaultEventuallyPollingInterval(interval)
}
