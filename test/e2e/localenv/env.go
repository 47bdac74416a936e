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

// Package localenv starts the local GitOps stack Kubetink's end-to-end tests and "make demo" run against, all on
// 127.0.0.1 and all from Go modules: the real kube-apiserver and etcd, the real Flux source-, helm- and
// kustomize-controllers as processes, an OCI registry holding test charts, a Git server (smart HTTP), the
// kubetink manager as a process with its own RBAC, and a cluster without containers: kube-controller-manager and
// kube-scheduler as processes, and a kubelet stand-in that runs Pods as local processes (or simulates them).
package localenv

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubetink/kubetink/internal/scheme"
)

const (
	// FluxNamespace is where the Flux controllers run (their RUNTIME_NAMESPACE).
	FluxNamespace = "flux-system"
	// KubetinkNamespace is where config/rbac puts the manager's ServiceAccount.
	KubetinkNamespace = "kubetink-system"
	// KubetinkServiceAccount is the manager's ServiceAccount (config/rbac/service_account.yaml).
	KubetinkServiceAccount = "kubetink-manager"
	// MigrationImage is the image the manager puts in migration Jobs; the kubelet stand-in runs the kubetink
	// binary for it.
	MigrationImage = "kubetink.local/kubetink:e2e"

	startTimeout = 2 * time.Minute
	stopGrace    = 15 * time.Second
)

// Options configure Start.
type Options struct {
	// WorkDir receives the logs, kubeconfigs, Flux storage and Git repositories. It must exist.
	WorkDir string
	// ControlPlaneDir holds kube-apiserver and etcd ("hack/testenv.sh control-plane").
	ControlPlaneDir string
	// ClusterDir holds kube-controller-manager and kube-scheduler ("hack/testenv.sh cluster").
	ClusterDir string
	// Images maps container images to local binaries the kubelet stand-in runs for them (such as
	// ghcr.io/tinkerbell/tinkerbell:v0.25.0 to the real Tinkerbell binary; see TinkerbellImages). MigrationImage
	// maps to Kubetink. Containers of other images are simulated.
	Images map[string]string
	// FluxDir holds the Flux controllers and their CRDs in crds/ ("hack/testenv.sh flux").
	FluxDir string
	// Kubetink is the kubetink binary.
	Kubetink string
	// RepoRoot is the Kubetink repository: config/ installs the CRD and RBAC.
	RepoRoot string
	// Charts are the real upstream charts pushed to the registry before the controllers start.
	Charts []Chart
	// ChartsDir holds the packaged charts (<name>-<version>.tgz); a chart it lacks is pulled from upstream's
	// registry (oci://ghcr.io/tinkerbell/charts). Relative paths are resolved against RepoRoot.
	ChartsDir string
	// ManagerArgs are added to "kubetink manager".
	ManagerArgs []string
	// FluxArgs are added to the Flux controllers' flags, by controller name ("helm-controller",
	// "kustomize-controller", "source-controller"), such as the multi-tenancy lockdown's.
	FluxArgs map[string][]string
	// Logf prints progress; nil discards it.
	Logf func(format string, args ...any)
}

// Env is a running local stack.
type Env struct {
	opts Options

	// Kubeconfig is the path of the administrator kubeconfig.
	Kubeconfig string
	// Config connects as administrator.
	Config *rest.Config
	// Client is a direct client with the project's scheme (internal/scheme).
	Client client.Client
	// ChartURLs maps a chart name to its oci:// repository URL in the local registry
	// (oci://127.0.0.1:<port>/tinkerbell/charts/<name>).
	ChartURLs map[string]string
	// LogDir holds one log file per process.
	LogDir string

	cp       *envtest.Environment
	registry *ociRegistry
	git      *gitServer
	procs    []*process
	manager  *process
	// The cluster without containers.
	kcm, scheduler *process
	kubelet        *kubelet

	logFile  *os.File
	stopOnce sync.Once
}

// Start brings the stack up in order and stops whatever it started when a step fails.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	for name, path := range map[string]string{"control plane": opts.ControlPlaneDir, "cluster": opts.ClusterDir, "Flux": opts.FluxDir, "kubetink": opts.Kubetink} {
		if path == "" {
			return nil, fmt.Errorf("no %s given: run through make (make test-e2e or make demo), which builds it", name)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	e := &Env{opts: opts, LogDir: filepath.Join(opts.WorkDir, "logs"), ChartURLs: map[string]string{}}
	for _, d := range []string{e.LogDir, e.path("git"), e.path("work"), e.path("storage"), e.path("kubelet")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if e.logFile, err = os.Create(filepath.Join(e.LogDir, "servers.log")); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	t0 := time.Now()

	// The control plane, with the Flux CRDs installed as on a cluster bootstrapped with Flux.
	if err := e.startAPI(filepath.Join(opts.FluxDir, "crds")); err != nil {
		return nil, err
	}
	opts.Logf("kube-apiserver %s and etcd up in %s", e.Config.Host, since(t0))

	// kube-controller-manager, kube-scheduler and the kubelet stand-in, which runs the kubetink binary for
	// migration Jobs; waitCluster below gives them time to start while the rest comes up.
	if err := e.startCluster(); err != nil {
		return nil, err
	}
	images := maps.Clone(opts.Images)
	if images == nil {
		images = map[string]string{}
	}
	images[MigrationImage] = opts.Kubetink
	if e.kubelet, err = startKubelet(ctx, e, images); err != nil {
		return nil, err
	}

	// The registry with the charts, and the Git server.
	if e.registry, err = startRegistry(e.logFile); err != nil {
		return nil, err
	}
	chartsDir := opts.ChartsDir
	if chartsDir != "" && !filepath.IsAbs(chartsDir) {
		chartsDir = filepath.Join(opts.RepoRoot, chartsDir)
	}
	names := make([]string, 0, len(opts.Charts))
	for _, c := range opts.Charts {
		url, err := e.registry.pushChart(ctx, chartsDir, c)
		if err != nil {
			return nil, err
		}
		e.ChartURLs[c.Name] = url
		names = append(names, c.Name+":"+c.Version)
	}
	sort.Strings(names)
	if e.git, err = startGitServer(e.path("git"), e.logFile); err != nil {
		return nil, err
	}
	opts.Logf("OCI registry on %s (charts %s), Git server on %s", e.registry.host, strings.Join(names, ", "), e.git.baseURL)

	// Kubetink's CRD and RBAC, installed the way a user installs them.
	for _, ns := range []string{FluxNamespace, KubetinkNamespace} {
		if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	for _, dir := range []string{"config/crd", "config/rbac"} {
		if _, err := Kubectl(ctx, e.Kubeconfig, "apply", "--server-side", "-k", filepath.Join(opts.RepoRoot, dir)); err != nil {
			return nil, err
		}
	}
	if _, err := Kubectl(ctx, e.Kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "crd/tinkerbells.kubetink.io"); err != nil {
		return nil, err
	}

	// The Flux controllers.
	if err := e.startFlux(ctx); err != nil {
		return nil, err
	}
	opts.Logf("Flux source-, helm- and kustomize-controller ready (%s since start)", since(t0))

	// Kubetink, as its ServiceAccount, once the cluster works.
	if err := e.waitCluster(ctx); err != nil {
		return nil, err
	}
	opts.Logf("kube-controller-manager and kube-scheduler working (%s since start)", since(t0))
	if err := e.StartManager(ctx); err != nil {
		return nil, err
	}
	opts.Logf("kubetink manager ready as %s (%s since start)",
		serviceAccountUser(KubetinkNamespace, KubetinkServiceAccount), since(t0))
	return e, nil
}

// startAPI starts kube-apiserver and etcd with the CRDs of crdPaths (files or directories) installed, writes the
// administrator kubeconfig and connects the Env's client.
func (e *Env) startAPI(crdPaths ...string) error {
	e.cp = &envtest.Environment{
		BinaryAssetsDirectory: e.opts.ControlPlaneDir,
		CRDDirectoryPaths:     crdPaths,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme.New(),
	}
	var err error
	if e.Config, err = e.cp.Start(); err != nil {
		e.cp = nil
		return fmt.Errorf("failed to start kube-apiserver and etcd: %w", err)
	}
	e.Kubeconfig = e.path("kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, e.cp.KubeConfig, 0o600); err != nil {
		return err
	}
	e.Client, err = client.New(e.Config, client.Options{Scheme: scheme.New()})
	return err
}

func (e *Env) path(elem ...string) string {
	return filepath.Join(append([]string{e.opts.WorkDir}, elem...)...)
}

func (e *Env) startFlux(ctx context.Context) error {
	storagePort, err := freePort()
	if err != nil {
		return err
	}
	storage := loopback(storagePort)
	type ctrl struct {
		name  string
		extra []string
	}
	ctrls := []ctrl{
		{"source-controller", []string{"--storage-path=" + e.path("storage"), "--storage-addr=" + storage, "--storage-adv-addr=" + storage}},
		{"helm-controller", nil},
		{"kustomize-controller", nil},
	}
	type started struct {
		p      *process
		health string
	}
	var all []started
	for _, c := range ctrls {
		metrics, err := freePort()
		if err != nil {
			return err
		}
		health, err := freePort()
		if err != nil {
			return err
		}
		args := append([]string{
			"--enable-leader-election=false", "--watch-all-namespaces=true", "--log-level=info", "--log-encoding=console",
			"--metrics-addr=" + loopback(metrics), "--health-addr=" + loopback(health),
		}, c.extra...)
		args = append(args, e.opts.FluxArgs[c.name]...)
		// The Flux controllers have no --kubeconfig flag; they read KUBECONFIG.
		p, err := startProcess(c.name, filepath.Join(e.LogDir, c.name+".log"),
			[]string{"KUBECONFIG=" + e.Kubeconfig, "RUNTIME_NAMESPACE=" + FluxNamespace},
			filepath.Join(e.opts.FluxDir, c.name), args...)
		if err != nil {
			return err
		}
		e.procs = append(e.procs, p)
		all = append(all, started{p, "http://" + loopback(health) + "/readyz"})
	}
	for _, s := range all {
		if err := waitHTTPOK(ctx, s.p, s.health, startTimeout); err != nil {
			return err
		}
	}
	return nil
}

// StartManager starts "kubetink manager" (again, after StopManager), as the manager's ServiceAccount, with
// Options.ManagerArgs and extraArgs, and waits until it is ready.
func (e *Env) StartManager(ctx context.Context, extraArgs ...string) error {
	kubeconfig := e.path("kubetink-manager.kubeconfig")
	if err := writeImpersonatingKubeconfig(e.cp.KubeConfig, serviceAccountUser(KubetinkNamespace, KubetinkServiceAccount), kubeconfig); err != nil {
		return err
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	health, err := freePort()
	if err != nil {
		return err
	}
	args := append([]string{"manager",
		"--kubeconfig=" + kubeconfig,
		"--metrics-addr=" + loopback(metrics),
		"--health-addr=" + loopback(health),
		"--log-encoding=console",
		"--migration-image=" + MigrationImage,
	}, e.opts.ManagerArgs...)
	args = append(args, extraArgs...)
	p, err := startProcess("kubetink manager", filepath.Join(e.LogDir, "kubetink.log"), nil, e.opts.Kubetink, args...)
	if err != nil {
		return err
	}
	e.manager = p
	return waitHTTPOK(ctx, p, "http://"+loopback(health)+"/readyz", startTimeout)
}

// StopManager stops the kubetink manager.
func (e *Env) StopManager() error {
	if e.manager == nil {
		return nil
	}
	err := e.manager.stop(stopGrace)
	e.manager = nil
	return err
}

// NewRepo creates an empty repository on the Git server.
func (e *Env) NewRepo(name string) (*Repo, error) {
	return e.git.newRepo(name, e.path("work"))
}

// Stop stops everything Start started, the newest first. It is safe to call more than once.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		var errs []error
		if e.kubelet != nil {
			e.kubelet.stop() // the container processes first
		}
		if err := e.StopManager(); err != nil {
			errs = append(errs, err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, p := range e.procs {
			wg.Go(func() {
				if err := p.stop(stopGrace); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if e.git != nil {
			e.git.stop()
		}
		if e.registry != nil {
			e.registry.stop()
		}
		if e.cp != nil {
			if err := e.cp.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("failed to stop the control plane: %w", err))
			}
		}
		if e.logFile != nil {
			_ = e.logFile.Close()
		}
		if err := errors.Join(errs...); err != nil {
			e.opts.Logf("stopping: %v", err)
		}
	})
}

// LogTail returns the last n lines of the named log (such as "kubetink", "helm-controller").
func (e *Env) LogTail(name string, n int) string {
	data, err := os.ReadFile(filepath.Join(e.LogDir, name+".log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogNames lists the logs in LogDir, without the .log suffix: one per process, and one per container the kubelet
// stand-in ran, as "pods/<namespace>_<pod>_<container>".
func (e *Env) LogNames() []string {
	processes, _ := filepath.Glob(filepath.Join(e.LogDir, "*.log"))
	containers, _ := filepath.Glob(filepath.Join(e.LogDir, "pods", "*.log"))
	out := make([]string, 0, len(processes)+len(containers))
	for _, m := range append(processes, containers...) {
		rel, _ := filepath.Rel(e.LogDir, m)
		out = append(out, strings.TrimSuffix(rel, ".log"))
	}
	return out
}

// BuildKubetink builds the kubetink binary of the repository at root into dir with "go build" (cached by Go).
func BuildKubetink(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "kubetink")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/kubetink")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kubetink: %w: %s", err, b)
	}
	return out, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
