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

// Command demo runs Kubetink's GitOps loop on this machine, all on 127.0.0.1: the real kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler and Flux controllers, a local OCI registry with the real upstream
// charts, a local Git server holding examples/, the kubetink manager, and the real Tinkerbell binary run by the
// kubelet stand-in. It shows the objects becoming Ready, adds a demo machine and prints the curl line that shows
// its iPXE script, prints how to point kubectl at the stack, and stops everything on Ctrl-C. "make demo" builds
// what is missing and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/test/e2e/localenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	root := flag.String("repo-root", ".", "The Kubetink repository (config/, examples/, test/e2e/testdata/).")
	work := flag.String("work-dir", "bin/demo", "Where the demo keeps its state; emptied at start.")
	example := flag.String("example", "minimal.yaml", "The file of examples/ the demo cluster syncs.")
	version := flag.String("version", "", "Install this Tinkerbell version instead of the example's (v0.19.0, v0.24.0, v0.25.0 or 0.6.2; v0.24.0 and v0.25.0 run the real binary).")
	kubetink := flag.String("kubetink", os.Getenv("KUBETINK"), "The kubetink binary (make build).")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rootAbs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	workAbs, err := filepath.Abs(*work)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(workAbs); err != nil {
		return err
	}
	if err := os.MkdirAll(workAbs, 0o755); err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		fmt.Printf("%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	// The real Tinkerbell binaries make build put in $TINKERBELL_BINARIES run as the chart's Pods.
	images, err := localenv.TinkerbellImages(os.Getenv("TINKERBELL_BINARIES"))
	if err != nil {
		return err
	}
	env, err := localenv.Start(ctx, localenv.Options{
		WorkDir:         workAbs,
		ControlPlaneDir: os.Getenv("KUBEBUILDER_ASSETS"),
		ClusterDir:      os.Getenv("CLUSTER_DIR"),
		Images:          images,
		FluxDir:         os.Getenv("FLUX_DIR"),
		Kubetink:        *kubetink,
		RepoRoot:        rootAbs,
		// The real upstream charts: from this workspace's copies, or pulled from ghcr.io elsewhere.
		Charts:    localenv.E2ECharts,
		ChartsDir: localenv.SharedChartsDir,
		Logf:      logf,
	})
	if err != nil {
		return err
	}
	defer func() {
		logf("stopping the local stack")
		env.Stop()
		logf("stopped; logs stay in %s", env.LogDir)
	}()

	if err := setUp(ctx, env, rootAbs, *example, *version, logf); err != nil {
		return err
	}
	if err := watch(ctx, env, rootAbs, logf); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// setUp pushes examples/ to the local Git server with an overlay that points the example at the local registry
// and CRD mirror, and lets Flux sync it.
func setUp(ctx context.Context, env *localenv.Env, root, example, version string, logf func(string, ...any)) error {
	mirrors, err := env.CreateCRDMirrors(ctx)
	if err != nil {
		return err
	}
	// The pod CIDR covers loopback, so a request from 127.0.0.1 comes from a trusted proxy (as from a cluster's
	// ingress): Kubetink derives the trusted proxies from it.
	if err := env.CreateNode(ctx, "demo-node", demoPodCIDR); err != nil {
		return err
	}
	logf("registered Node demo-node with pod CIDR %s (Kubetink derives the trusted proxies from it; the kubelet stand-in runs its Pods)", demoPodCIDR)

	fleet, err := env.NewRepo("fleet")
	if err != nil {
		return err
	}
	if err := fleet.CopyFiles(filepath.Join(root, "examples"), "examples"); err != nil {
		return err
	}
	overlay := demoOverlay(example, version, env.ChartURLs, mirrors)
	if err := fleet.WriteFile("clusters/local/kustomization.yaml", []byte(overlay)); err != nil {
		return err
	}
	sha, err := fleet.Commit("Kubetink examples")
	if err != nil {
		return err
	}
	logf("pushed examples/ to %s (commit %.7s); clusters/local syncs examples/%s", fleet.URL, sha, example)
	return env.CreateSync(ctx, localenv.SyncOptions{
		Name: "fleet", Repo: fleet, Path: "./clusters/local", Interval: 15 * time.Second, Wait: true, Timeout: 3 * time.Minute,
		HealthChecks: []kustomize.CustomHealthCheck{localenv.TinkerbellHealthCheck},
	})
}

// demoOverlay is clusters/local/kustomization.yaml: the example, pointed at the local registry and CRD mirrors
// (the legacy stack's chart and CRDs live in their own repositories upstream, and so here).
func demoOverlay(example, version string, charts map[string]string, mirrors map[string]*localenv.Repo) string {
	chart, crds := charts["tinkerbell"], mirrors[localenv.TinkerbellMirror].URL
	if strings.HasPrefix(version, "0.") {
		chart, crds = charts["stack"], mirrors[localenv.ChartsMirror].URL
	}
	var versionPatch string
	if version != "" {
		versionPatch = fmt.Sprintf(`
      - op: replace
        path: /spec/version
        value: %q`, version)
	}
	return fmt.Sprintf(`# The demo cluster: one example, pointed at the local chart registry and CRD mirror.
# Edit this file or examples/, then: git commit -am "..." && git push   (Flux fetches every 15s)
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../examples/%s
patches:
  - target:
      kind: Tinkerbell
    patch: |%s
      - op: add
        path: /spec/chart
        value:
          url: %s
          insecure: true
      - op: add
        path: /spec/crds
        value:
          source:
            url: %s
`, example, versionPatch, chart, crds)
}

// watch prints the objects whenever their state changes, says when everything is Ready, adds the demo machine,
// serves the running Tinkerbell on a fixed local port, and waits for Ctrl-C.
func watch(ctx context.Context, env *localenv.Env, root string, logf func(string, ...any)) error {
	start := time.Now()
	var last string
	ready := false
	for {
		// Columns without an age, so that an unchanged state prints nothing.
		out, err := localenv.Kubectl(ctx, env.Kubeconfig, "get", "tinkerbells,kustomizations,helmreleases,ocirepositories", "-A",
			"-o", `custom-columns=NAMESPACE:.metadata.namespace,NAME:.kind,OBJECT:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,STATUS:.status.conditions[?(@.type=="Ready")].message`)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if out != last {
			fmt.Printf("\n%s\n", strings.TrimRight(out, "\n"))
			last = out
		}
		if !ready && allReady(ctx, env) {
			ready = true
			logf("Tinkerbell Ready %s after the commit", time.Since(start).Round(100*time.Millisecond))
			if err := showMachine(ctx, env, root, logf); err != nil {
				return err
			}
			fleet := filepath.Join(filepath.Dir(env.LogDir), "work", "fleet")
			fmt.Printf(`
The local stack is running. In another terminal:

  export KUBECONFIG=%s
  kubectl get tinkerbells,kustomizations,helmreleases -A
  kubectl describe tinkerbells -A
  kubectl get deployments,pods -n tinkerbell        # the chart's workload, with the values Kubetink generated
  kubectl get hardware,workflows -n tinkerbell      # the demo machine and its Workflow, run by Tinkerbell

GitOps: Flux syncs clusters/local of %s (the Git server's fleet.git).
Change a value and push, then watch Kubetink roll it out:

  cd %s
  sed -i 's/192.168.2.112/192.168.2.50/' examples/minimal.yaml
  git commit -qam "New artifacts file server" && git push -q

and the iPXE script above names the new server. Started with "make demo DEMO_ARGS=-version=v0.24.0", set the
version to v0.25.0 in clusters/local/kustomization.yaml and push to see the real binary roll; with
-version=v0.19.0 the upgrade runs its migration Jobs.

Logs: %s. Press Ctrl-C to stop everything.
`, env.Kubeconfig, fleet, fleet, env.LogDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func allReady(ctx context.Context, env *localenv.Env) bool {
	list := &kubetinkv1alpha1.TinkerbellList{}
	if err := env.Client.List(ctx, list, client.InNamespace("")); err != nil || len(list.Items) == 0 {
		return false
	}
	for i := range list.Items {
		tb := &list.Items[i]
		c := apimeta.FindStatusCondition(tb.Status.Conditions, meta.ReadyCondition)
		if c == nil || c.Status != "True" || tb.Status.ObservedGeneration != tb.Generation {
			return false
		}
	}
	return true
}
