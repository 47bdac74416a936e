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
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
)

// startKubetink runs this test binary as "kubetink <args>" (see TestMain).
func startKubetink(t *testing.T, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KUBETINK_TEST_RUN_MAIN=1")
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url) //nolint:gosec // loopback test endpoint
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func TestManager_StartsHealthyAndStopsOnSIGTERM(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{FluxCRDs: true})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })

	healthAddr, metricsAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	cmd, out := startKubetink(t, "manager", "--kubeconfig", env.Kubeconfig,
		"--health-addr", healthAddr, "--metrics-addr", metricsAddr, "--log-level", "debug")

	for _, probe := range []string{"/healthz", "/readyz"} {
		url := fmt.Sprintf("http://%s%s", healthAddr, probe)
		g.Eventually(func() (int, error) {
			code, _, err := httpGet(url)
			return code, err
		}, 30*time.Second, 100*time.Millisecond).Should(Equal(http.StatusOK), "%s never became healthy; log:\n%s", probe, out)
	}
	g.Eventually(func() (string, error) {
		_, body, err := httpGet(fmt.Sprintf("http://%s/metrics", metricsAddr))
		return body, err
	}, 10*time.Second, 100*time.Millisecond).Should(ContainSubstring("controller_runtime_"))

	g.Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		g.Expect(err).NotTo(HaveOccurred(), "kubetink manager exited with an error; log:\n%s", out)
	case <-time.After(30 * time.Second):
		t.Fatalf("kubetink manager did not stop within 30s of SIGTERM; log:\n%s", out)
	}
	g.Expect(cmd.ProcessState.ExitCode()).To(Equal(0))
	g.Expect(out.String()).To(ContainSubstring("manager stopped"))
	// Nothing listens after exit.
	_, err = net.DialTimeout("tcp", healthAddr, time.Second)
	g.Expect(err).To(HaveOccurred())
}

func TestVersionCommand(t *testing.T) {
	g := NewWithT(t)
	cmd := newRootCommand()
	out := &bytes.Buffer{}
	cmd.SetOut(out)
	cmd.SetArgs([]string{"version"})
	g.Expect(cmd.Execute()).To(Succeed())
	g.Expect(out.String()).To(MatchRegexp(`^kubetink \S+ \(go1\.\d+`))
}

// With leader election on, the manager takes the Lease in the given namespace before it reconciles, and gives it
// up on SIGTERM (release on cancel), so a successor does not wait for the lease to expire.
func TestManager_LeaderElection(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{FluxCRDs: true})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })

	healthAddr := testutil.FreeAddr(t)
	cmd, out := startKubetink(t, "manager", "--kubeconfig", env.Kubeconfig, "--health-addr", healthAddr,
		"--metrics-addr", "0", "--enable-leader-election", "--leader-election-namespace", "kube-system")
	lease := &coordinationv1.Lease{}
	g.Eventually(func() error {
		leases := &coordinationv1.LeaseList{}
		if err := env.Client.List(context.Background(), leases, client.InNamespace("kube-system")); err != nil {
			return err
		}
		for i := range leases.Items {
			if strings.HasPrefix(leases.Items[i].Name, "kubetink-leader-election") && leases.Items[i].Spec.HolderIdentity != nil &&
				*leases.Items[i].Spec.HolderIdentity != "" {
				*lease = leases.Items[i]
				return nil
			}
		}
		return fmt.Errorf("no held kubetink Lease yet")
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed(), "log:\n%s", out)

	g.Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	g.Expect(cmd.Wait()).To(Succeed(), "log:\n%s", out)
	g.Expect(env.Client.Get(context.Background(), client.ObjectKeyFromObject(lease), lease)).To(Succeed())
	g.Expect(lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "").To(BeTrue(), "the Lease was not released on shutdown")
}

// A manager started with --watch-label-selector reconciles its shard's Tinkerbells and leaves the others alone,
// even when an object it watches (a generated OCIRepository, owned by another shard's Tinkerbell) names one of
// them: against a real apiserver, the path where the cache's selector alone did not hold.
func TestManager_WatchSelectorKeepsToItsShard(t *testing.T) {
	g := NewWithT(t)
	env, err := testutil.Start(testutil.Options{FluxCRDs: true})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shards"}}
	g.Expect(env.Client.Create(ctx, ns)).To(Succeed())

	healthAddr := testutil.FreeAddr(t)
	_, out := startKubetink(t, "manager", "--kubeconfig", env.Kubeconfig, "--health-addr", healthAddr,
		"--metrics-addr", "0", "--watch-label-selector", "kubetink.io/shard=a")
	g.Eventually(func() (int, error) {
		code, _, err := httpGet("http://" + healthAddr + "/readyz")
		return code, err
	}, 30*time.Second, 100*time.Millisecond).Should(Equal(http.StatusOK), "log:\n%s", out)

	tinkerbell := func(name, shard string) *kubetinkv1alpha1.Tinkerbell {
		return &kubetinkv1alpha1.Tinkerbell{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name, Labels: map[string]string{"kubetink.io/shard": shard}},
			Spec: kubetinkv1alpha1.TinkerbellSpec{Version: "v0.25.0", TargetNamespace: name, PublicIP: "192.168.2.10",
				ArtifactsFileServer: "http://192.168.2.11:7173", Suspend: true},
		}
	}
	hasFinalizer := func(tb *kubetinkv1alpha1.Tinkerbell) func() (bool, error) {
		return func() (bool, error) {
			got := &kubetinkv1alpha1.Tinkerbell{}
			err := env.Client.Get(ctx, client.ObjectKeyFromObject(tb), got)
			return controllerutil.ContainsFinalizer(got, kubetinkv1alpha1.Finalizer), err
		}
	}
	// Suspended, so that a reconciliation only adds the finalizer: the sign that this manager took it on.
	other := tinkerbell("other", "b")
	g.Expect(env.Client.Create(ctx, other)).To(Succeed())
	owned := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "other-chart",
		Labels: map[string]string{kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy}},
		Spec: sourcev1.OCIRepositorySpec{URL: "oci://ghcr.io/tinkerbell/charts/tinkerbell", Interval: metav1.Duration{Duration: time.Hour}}}
	g.Expect(controllerutil.SetControllerReference(other, owned, env.Client.Scheme())).To(Succeed())
	g.Expect(env.Client.Create(ctx, owned)).To(Succeed())
	mine := tinkerbell("mine", "a")
	g.Expect(env.Client.Create(ctx, mine)).To(Succeed())

	g.Eventually(hasFinalizer(mine), 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "the shard reconciles its own; log:\n%s", out)
	// An event of the owned object names the other shard's Tinkerbell.
	owned.Annotations = map[string]string{"test/poke": "1"}
	g.Expect(env.Client.Update(ctx, owned)).To(Succeed())
	g.Consistently(hasFinalizer(other), 3*time.Second, 100*time.Millisecond).Should(BeFalse(), "the other shard's Tinkerbell is left alone; log:\n%s", out)
}
