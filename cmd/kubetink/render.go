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
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/cobra"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/render"
	"github.com/kubetink/kubetink/internal/values"
)

// renderOptions are the flags of "kubetink render".
type renderOptions struct {
	file           string
	nodeCIDRs      []string
	loadBalancerIP string
	engine         string
}

func newRenderCommand() *cobra.Command {
	o := &renderOptions{}
	cmd := &cobra.Command{
		Use:   "render -f FILE",
		Short: "Print the Flux or Argo CD objects Kubetink generates for Tinkerbell objects",
		Long: `Render reads Tinkerbell objects and prints, as multi-document YAML, the objects the operator would apply
for them. Several objects in one file are the sites of one cluster: render refuses them as the operator would
(overlapping namespaces, a shared public IP, CRDs of two epochs), and renders the CRDs once, for the site with
the newest release. With the Flux engine: the chart's OCIRepository, the CRDs' GitRepository and Kustomization(s), and the
HelmRelease with its generated values. With the Argo CD engine: the CRDs' Application(s) and the chart's
Application with the same values. The engine is the object's spec.engine unless --engine is given. It needs no
cluster: pass the facts the operator would read from it with flags.`,
		Example: `  kubetink render -f examples/minimal.yaml
  kubetink render -f examples/minimal.yaml --engine argocd
  kubetink render -f examples/multi-site.yaml
  kubetink render -f tinkerbell.yaml --node-cidr 10.244.0.0/24 --node-cidr 10.244.1.0/24
  kubetink render -f tinkerbell.yaml --load-balancer-ip 192.168.2.50   # for spec.publicIPFrom
  cat tinkerbell.yaml | kubetink render -f -`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{shortLived: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRender(cmd.InOrStdin(), cmd.OutOrStdout(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.file, "file", "f", "", `Tinkerbell manifest(s) to render; "-" reads standard input.`)
	fs.StringSliceVar(&o.nodeCIDRs, "node-cidr", nil, "Pod CIDR of a Node, used for the trusted proxies when spec.trustedProxies is empty; repeatable or comma-separated.")
	fs.StringVar(&o.loadBalancerIP, "load-balancer-ip", "", "LoadBalancer IP of the Service named by spec.publicIPFrom.")
	fs.StringVar(&o.engine, "engine", "", "GitOps engine to render for, flux or argocd, instead of the object's spec.engine.")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func runRender(stdin io.Reader, stdout io.Writer, o *renderOptions) error {
	for _, c := range o.nodeCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("--node-cidr %q is not a CIDR such as 10.244.0.0/24", c)
		}
	}
	if o.loadBalancerIP != "" {
		if a, err := netip.ParseAddr(o.loadBalancerIP); err != nil || !a.Is4() {
			return fmt.Errorf("--load-balancer-ip %q is not an IPv4 address", o.loadBalancerIP)
		}
	}
	engine, err := parseEngine(o.engine)
	if err != nil {
		return err
	}
	var data []byte
	if o.file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(o.file)
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", o.file, err)
	}
	objs, err := render.DecodeAll(data)
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	for _, obj := range objs {
		if obj.Namespace == "" {
			// As kubectl would place it.
			obj.Namespace = "default"
		}
		if engine != "" {
			obj.Spec.Engine = engine
		}
	}
	// The objects of one file are the sites of one cluster: refused together as the operator would refuse them,
	// and the CRDs rendered once, by the site that provides them.
	results, err := render.Sites(objs, values.Facts{NodePodCIDRs: o.nodeCIDRs, LoadBalancerIP: o.loadBalancerIP})
	if err != nil {
		return fmt.Errorf("%s: %w", o.file, err)
	}
	var out []byte
	for _, res := range results {
		y, err := render.ToYAML(res.Objects)
		if err != nil {
			return err
		}
		out = append(out, y...)
	}
	_, err = stdout.Write(out)
	return err
}

// parseEngine reads --engine: flux or argocd, in any case; "" keeps the object's spec.engine.
func parseEngine(s string) (kubetinkv1alpha1.Engine, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "flux":
		return kubetinkv1alpha1.EngineFlux, nil
	case "argocd":
		return kubetinkv1alpha1.EngineArgoCD, nil
	}
	return "", fmt.Errorf("--engine %q is not an engine: use flux or argocd", s)
}
