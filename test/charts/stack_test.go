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
	_, relay := findContainer(stack.pod, "dhcp-relay")
	c.equal("the dhcp-relay sidecar", relay, smee.IsEnabled() && smee.DHCPEnabled())
	_, download := findContainer(stack.pod, "download-hook")
	c.equal("the HookOS download", download, spec.Addons.HookOSEnabled())
	for _, s := range c.services() {
		if s.Name == "tink-stack" {
			c.equal("the tink-stack Service's loadBalancerIP", s.Spec.LoadBalancerIP, publicIP)
		}
	}
	_, kubeVip := c.workloadWith("kube-vip")
	c.equal("kube-vip running", kubeVip, spec.Addons.KubeVipEnabled())
}
