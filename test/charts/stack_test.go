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

package charts

import (
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubetink/kubetink/internal/catalog"
)

// checkStack checks the objects of the legacy stack chart 0.6.2: the smee, hegel, rufio, tink-controller and
// tink-server Deployments of its subcharts (<subchart>.deploy), their images, the addresses Smee hands to
// machines (charts/smee/templates/deployment.yaml resolves them from global.publicIP) and the trusted proxies,
// and the tink-stack nginx proxy with its DHCP relay and kube-vip.
func (c *checker) checkStack() {
	t, spec := c.t, &c.obj.Spec
	comp := spec.Components
	smee := comp.GetSmee()
	byName := map[string]workload{}
	for _, w := range c.workloads() {
		byName[w.name] = w
	}
	for _, s := range []struct {
		name, image string
		on          bool
	}{
		{"smee", catalog.ImageSmee, smee.IsEnabled()},
		{"hegel", catalog.ImageHegel, comp.GetTootles().IsEnabled()},
		{"rufio", catalog.ImageRufio, comp.GetRufio().IsEnabled()},
		{"tink-controller", catalog.ImageTinkController, comp.GetTinkController().IsEnabled()},
		{"tink-server", catalog.ImageTinkServer, comp.GetTinkServer().IsEnabled()},
	} {
		w, ok := byName[s.name]
		c.equal("Deployment "+s.name+" rendered", ok, s.on)
		if ok {
			c.equal("the "+s.name+" image", w.pod.Containers[0].Image, c.image(s.image))
		}
	}

	publicIP := c.res.PublicIP
	proxies := strings.Join(c.res.TrustedProxies, ",")
	if w, ok := byName["smee"]; ok {
		e := env(w.pod.Containers[0])
		tinkServer := net.JoinHostPort(publicIP, strconv.Itoa(int(c.rel.Ports.TinkServerGRPC)))
		c.equal("SMEE_TINK_SERVER", e["SMEE_TINK_SERVER"], tinkServer)
		c.equal("SMEE_DHCP_HTTP_IPXE_SCRIPT_HOST", e["SMEE_DHCP_HTTP_IPXE_SCRIPT_HOST"], publicIP)
		c.equal("SMEE_TRUSTED_PROXIES", e["SMEE_TRUSTED_PROXIES"], proxies)
		c.equal("SMEE_DHCP_ENABLED", e["SMEE_DHCP_ENABLED"], strconv.FormatBool(smee.DHCPEnabled()))
		if d := smee.DHCP; d != nil && d.Mode != "" {
			c.equal("SMEE_DHCP_MODE", e["SMEE_DHCP_MODE"], string(d.Mode))
		}
		if smee.LogLevel != nil {
			want := "info"
			if *smee.LogLevel > 0 {
				want = "debug"
			}
			c.equal("SMEE_LOG_LEVEL", e["SMEE_LOG_LEVEL"], want)
		}
		if spec.ArtifactsFileServer != "" {
			c.equal("SMEE_OSIE_URL", strings.TrimSuffix(e["SMEE_OSIE_URL"], "/"), strings.TrimSuffix(string(spec.ArtifactsFileServer), "/"))
		}
		worker := "tink_worker_image=" + c.image(catalog.ImageTinkWorker)
		if args := strings.Fields(e["SMEE_EXTRA_KERNEL_ARGS"]); !slices.Contains(args, worker) {
			t.Errorf("%s: SMEE_EXTRA_KERNEL_ARGS %v lacks %s", c.rel.Version, args, worker)
		}
	}
	if w, ok := byName["hegel"]; ok {
		c.equal("HEGEL_TRUSTED_PROXIES", env(w.pod.Containers[0])["HEGEL_TRUSTED_PROXIES"], proxies)
	}

	// The tink-stack proxy (templates/nginx.yaml) fronts every service on the public IP; its dhcp-relay sidecar
	// runs only while Smee answers DHCP.
	stack, ok := byName["tink-stack"]
	if !ok {
		t.Fatalf("%s: no tink-stack Deployment", c.rel.Version)
	}
	for name, image := range map[string]string{
		"tink-stack":                catalog.ImageNginx,
		"download-hook":             catalog.ImageHookDownload,
		"dhcp-relay":                catalog.ImageDHCPRelay,
		"relay-broadcast-interface": catalog.ImageRelayInit,
	} {
		if ct, ok := findContainer(stack.pod, name); ok {
			c.equal("the "+name+" image", ct.Image, c.image(image))
		}
	}
	_, relay := findContainer(stack.pod, "dhcp-relay")
	c.equal("the dhcp-relay sidecar", relay, smee.IsEnabled() && smee.DHCPEnabled())
	_, download := findContainer(stack.pod, "download-hook")
	c.equal("the HookOS download", download, spec.Addons.HookOSEnabled())
	for _, s := range c.services() {
		if s.Name == "tink-stack" {
			c.equal("the tink-stack Service's loadBalancerIP", s.Spec.LoadBalancerIP, publicIP)
		}
	}
	if h := c.hookOS(); download && h != nil {
		if h.DownloadURL != "" {
			dl, _ := findContainer(stack.pod, "download-hook")
			c.equal("the HookOS download URL", argAfter(dl.Args, "--url"), string(h.DownloadURL))
		}
		if p := h.Persistence; p != nil && p.LocalPersistentVolume != nil {
			c.checkLocalPV(p.LocalPersistentVolume.Path, p.LocalPersistentVolume.StorageClassName, p.LocalPersistentVolume.Size)
		}
	}
	if d := smee.DHCP; relay && d != nil && d.SourceInterface != "" {
		ic, _ := findContainer(stack.pod, "relay-broadcast-interface")
		c.equal("the relay's source interface", argAfter(ic.Command, "-s"), string(d.SourceInterface))
	}
	c.checkKubeVip()
	c.checkStackPlacement(byName)
}

// checkStackPlacement checks spec.deployment on the stack's Deployments: the node selector on every one (each
// subchart coalesces its own with global.nodeSelector), replicas on those whose template reads them (rufio and
// tink-stack have one replica written in), tolerations and affinity on Smee (the only subchart that takes them)
// and the CPU and memory requests and limits on each service (the subcharts write these four one by one).
func (c *checker) checkStackPlacement(byName map[string]workload) {
	d := c.obj.Spec.Deployment
	if d == nil {
		return
	}
	for _, name := range []string{"smee", "hegel", "rufio", "tink-controller", "tink-server", "tink-stack"} {
		w, ok := byName[name]
		if !ok {
			continue
		}
		c.equal(name+"'s node selector", w.pod.NodeSelector, d.NodeSelector)
		if d.Replicas != nil && name != "rufio" && name != "tink-stack" {
			c.equal(name+"'s replicas", deref(w.replicas), *d.Replicas)
		}
		if d.Resources != nil && name != "tink-stack" {
			got := w.pod.Containers[0].Resources
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				c.equal(name+"'s "+string(r)+" request", got.Requests[r], d.Resources.Requests[r])
				c.equal(name+"'s "+string(r)+" limit", got.Limits[r], d.Resources.Limits[r])
			}
		}
	}
	if w, ok := byName["smee"]; ok {
		c.equal("smee's tolerations", w.pod.Tolerations, d.Tolerations)
		if d.Affinity != nil {
			c.equal("smee's affinity", w.pod.Affinity, d.Affinity)
		}
	}
}
