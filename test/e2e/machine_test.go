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
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubetink/kubetink/test/e2e/localenv"
)

const (
	// machineIP and machineMAC are the machine of testdata/objects/machine.yaml.
	machineIP  = "10.1.1.5"
	machineMAC = "02:00:00:00:00:01"
	// loopbackPodCIDR is the Node's pod CIDR: it covers 127.0.0.1, where the test's requests come from, so the
	// trusted proxies Kubetink derives from the Nodes let Tinkerbell honour X-Forwarded-For, as a cluster's
	// ingress or load balancer in the pod network would.
	loopbackPodCIDR = "127.0.0.0/24"
)

// TestRealTinkerbell installs Tinkerbell v0.24.0 from Git with the real chart and the real Tinkerbell binary,
// checks what a machine sees, then upgrades to v0.25.0 with one commit and checks that the same machine and
// Workflow are still served by the new binary.
func TestRealTinkerbell(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx := context.Background()
	env, s := startMachineEnv(t)

	pushed := s.commit(t, "Install Tinkerbell v0.24.0", map[string][]byte{
		"clusters/e2e/kustomization.yaml": kustomization("tinkerbell.yaml"),
		"clusters/e2e/tinkerbell.yaml":    withRequestsOnly(t, tinkerbellYAML(t, env, s.crdMirror, "v0.24.0")),
	})
	g.Expect(env.CreateSync(ctx, localenv.SyncOptions{
		Name: "fleet", Repo: s.fleet, Path: "./clusters/e2e", Interval: time.Minute, Wait: true, Timeout: 2 * time.Minute,
	})).To(Succeed())
	s.synced = true
	eventually(t, "Tinkerbell v0.24.0 is Ready (the real chart, with helm-controller's default waits)", func(g Gomega) {
		s.expectTinkerbellReady(g, "v0.24.0")
	})
	t.Logf("FIGURE commit -> Tinkerbell Ready (install v0.24.0, real chart and binary): %s", time.Since(pushed).Round(100*time.Millisecond))
	show(t, env)
	g.Expect(containerEnv(s.deployment(g), "tinkerbell")).To(HaveKeyWithValue("TINKERBELL_TRUSTED_PROXIES", loopbackPodCIDR),
		"the trusted proxies come from the Node's pod CIDR")
	// Requests only, above the chart's default limits (500m, 128Mi): the container has the requests and no limits
	// (with the defaults merged in, the Pods would be invalid and Helm's wait would fail).
	for _, c := range s.deployment(g).Spec.Template.Spec.Containers {
		if c.Name == "tinkerbell" {
			g.Expect(c.Resources.Requests.Cpu().String()).To(Equal("600m"))
			g.Expect(c.Resources.Requests.Memory().String()).To(Equal("200Mi"))
			g.Expect(c.Resources.Limits).To(BeEmpty(), "the chart's default limits were dropped")
		}
	}

	kubectl(t, env, "apply", "--server-side", "-f", filepath.Join(repoRoot, "test", "e2e", "testdata", "objects", "machine.yaml"))
	machineView(t, env, "v0.24.0")
	firstPod := runningTinkerbellPod(g, env, target, "v0.24.0").Name

	pushed = s.commit(t, "Upgrade Tinkerbell to v0.25.0", map[string][]byte{
		"clusters/e2e/tinkerbell.yaml": withRequestsOnly(t, tinkerbellYAML(t, env, s.crdMirror, "v0.25.0")),
	})
	eventually(t, "Tinkerbell v0.25.0 is Ready", func(g Gomega) { s.expectTinkerbellReady(g, "v0.25.0") })
	t.Logf("FIGURE commit -> Tinkerbell Ready (upgrade v0.24.0 -> v0.25.0, real binaries): %s", time.Since(pushed).Round(100*time.Millisecond))
	eventually(t, "the Deployment rolled: the v0.24.0 process stopped, the v0.25.0 process serves", func(g Gomega) {
		pod := runningTinkerbellPod(g, env, target, "v0.25.0")
		g.Expect(pod.Name).NotTo(Equal(firstPod))
		g.Expect(env.Processes()).NotTo(ContainElement(HavePrefix(target+"/"+firstPod+"/")), "the old Pod's process still runs")
	})
	show(t, env)
	machineView(t, env, "v0.25.0")
}

// startMachineEnv starts a cluster for the real Tinkerbell: the CRD mirrors, a fleet repository and one Node
// whose pod CIDR covers 127.0.0.1 (loopbackPodCIDR), so the derived trusted proxies let machines be played from
// the test.
func startMachineEnv(t *testing.T) (*localenv.Env, *gitops) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	env := startEnv(t)
	mirrors, err := env.CreateCRDMirrors(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	s := &gitops{env: env, crdMirror: mirrors[localenv.TinkerbellMirror]}
	s.fleet, err = env.NewRepo("fleet")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env.CreateNode(ctx, "node-a", loopbackPodCIDR)).To(Succeed())
	return env, s
}

// withRequestsOnly adds resource requests above the chart's default limits, and no limits, to a Tinkerbell.
func withRequestsOnly(t *testing.T, manifest []byte) []byte {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal(manifest, &obj); err != nil {
		t.Fatal(err)
	}
	obj["spec"].(map[string]any)["deployment"] = map[string]any{
		"resources": map[string]any{"requests": map[string]any{"cpu": "600m", "memory": "200Mi"}},
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// machineView checks, against the running Tinkerbell of the given version, what the machine of
// testdata/objects/machine.yaml sees through a trusted proxy, that the same requests without the forwarded header
// are refused, and that the real Tink controller took up the machine's Workflow.
func machineView(t *testing.T, env *localenv.Env, version string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	pod := runningTinkerbellPod(g, env, target, version)
	addr, err := env.PodAddress(ctx, target, pod.Name, localenv.TinkerbellHTTPPort)
	g.Expect(err).NotTo(HaveOccurred())
	base := "http://" + addr
	eventually(t, fmt.Sprintf("Tinkerbell %s answers /healthcheck on %s", version, addr), func(g Gomega) {
		code, _ := httpGet(g, base+"/healthcheck", "")
		g.Expect(code).To(Equal(http.StatusOK))
	})

	// Smee's iPXE script (at /ipxe/script/ since v0.22.0) names the artifacts file server from
	// spec.artifactsFileServer and the Tink server at spec.publicIP:42113.
	var script string
	eventually(t, "Smee serves the machine's iPXE script through the trusted proxy", func(g Gomega) {
		code, body := httpGet(g, base+"/ipxe/script/auto.ipxe", machineIP)
		g.Expect(code).To(Equal(http.StatusOK), body)
		script = body
	})
	g.Expect(script).To(ContainSubstring("set download-url http://192.168.2.112:7173"))
	g.Expect(script).To(ContainSubstring("grpc_authority=" + publicIP + ":42113"))
	g.Expect(script).To(ContainSubstring("syslog_host=" + publicIP))
	g.Expect(script).To(ContainSubstring("worker_id=" + machineMAC))
	g.Expect(script).To(ContainSubstring("tink_worker_image=ghcr.io/tinkerbell/tink-agent:"+version), "the chart of this release set the agent image")
	t.Logf("$ curl -H 'X-Forwarded-For: %s' %s/ipxe/script/auto.ipxe  (Tinkerbell %s)\n%s", machineIP, base, version, script)

	// Tootles answers the machine's EC2-style metadata.
	code, hostname := httpGet(g, base+"/2009-04-04/meta-data/hostname", machineIP)
	g.Expect(code).To(Equal(http.StatusOK), hostname)
	g.Expect(strings.TrimSpace(hostname)).To(Equal("machine1"))

	// Without the forwarded header the client is 127.0.0.1, which is no machine: both are refused.
	for _, path := range []string{"/ipxe/script/auto.ipxe", "/2009-04-04/meta-data/hostname"} {
		code, body := httpGet(g, base+path, "")
		g.Expect(code).To(Equal(http.StatusNotFound), "GET %s without X-Forwarded-For: %s", path, body)
	}

	// The real Tink controller renders the Workflow for the machine and moves it to PENDING.
	eventually(t, "the Tink controller moved Workflow wipe-machine1 to PENDING", func(g Gomega) {
		wf := object(g, env, workflowGVK, target, "wipe-machine1")
		g.Expect(wf).NotTo(BeNil())
		state, _, _ := unstructured.NestedString(wf.Object, "status", "state")
		g.Expect(state).To(Equal("PENDING"))
	})
}

// runningTinkerbellPod returns the Ready, not terminating Pod of the tinkerbell Deployment in namespace running the
// given version, and checks that a process serves it.
func runningTinkerbellPod(g Gomega, env *localenv.Env, namespace, version string) *corev1.Pod {
	pods := &corev1.PodList{}
	g.Expect(env.Client.List(context.Background(), pods, client.InNamespace(namespace), client.MatchingLabels{"app": "tinkerbell"})).To(Succeed())
	var found []*corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
			continue
		}
		for _, c := range p.Spec.Containers {
			if c.Name == "tinkerbell" && strings.HasSuffix(c.Image, ":"+version) {
				found = append(found, p)
			}
		}
	}
	g.Expect(found).To(HaveLen(1), "one Ready Pod of Tinkerbell %s", version)
	g.Expect(env.Processes()).To(ContainElement(HavePrefix(namespace+"/"+found[0].Name+"/tinkerbell ")), "a process runs the Pod's tinkerbell container")
	return found[0]
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// httpGet sends a GET as a machine behind a proxy would (X-Forwarded-For: forwardedFor, unless empty) and returns
// the status code and body.
func httpGet(g Gomega, url, forwardedFor string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	g.Expect(err).NotTo(HaveOccurred())
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	g.Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(body)
}
