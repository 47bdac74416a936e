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

package localenv

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StartControlPlane starts kube-apiserver and etcd only (opts.ControlPlaneDir; the logs and the kubeconfig go to
// opts.WorkDir), with the CRDs of crdPaths installed, for tests that need the API and nothing behind it: no Flux,
// no cluster, no manager. Processes started on the Env with StartTinkerbell are stopped by its Stop too.
func StartControlPlane(opts Options, crdPaths ...string) (_ *Env, err error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.ControlPlaneDir == "" {
		return nil, fmt.Errorf("no control plane given: run through make (make test-e2e), which builds it")
	}
	e := &Env{opts: opts, LogDir: filepath.Join(opts.WorkDir, "logs")}
	if err := os.MkdirAll(e.LogDir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	t0 := time.Now()
	if err := e.startAPI(crdPaths...); err != nil {
		return nil, err
	}
	opts.Logf("kube-apiserver %s and etcd up in %s", e.Config.Host, since(t0))
	return e, nil
}

// Tinkerbell is a real Tinkerbell binary StartTinkerbell runs.
type Tinkerbell struct {
	// Ports maps each port the binary listens on in a Pod (such as TinkerbellHTTPPort) to the loopback port it
	// listens on here.
	Ports map[int32]int
	p     *process
}

// HTTPAddr is 127.0.0.1:<port> where the binary serves its HTTP port: Smee's iPXE binaries, scripts and ISOs,
// Tootles, the UI and /healthcheck.
func (t *Tinkerbell) HTTPAddr() string { return loopback(t.Ports[TinkerbellHTTPPort]) }

// Stop stops the binary.
func (t *Tinkerbell) Stop() error { return t.p.stop(stopGrace) }

// StartTinkerbell runs the real unified Tinkerbell binary bin as a process of the Env, outside any Pod, and
// waits until it answers /healthcheck. env holds its settings as a container of the chart's Deployment gets
// them (TINKERBELL_* variables); over them go exactly the overrides the kubelet stand-in gives the chart's Pod in
// namespace (tinkerbellOverrides: loopback bind addresses, free ports, DHCP off), except that the binary acts
// as the administrator, since no chart installed RBAC for it. Its log is LogDir/<name>.log.
func (e *Env) StartTinkerbell(ctx context.Context, name, bin, namespace string, env map[string]string) (*Tinkerbell, error) {
	home := e.path(name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace}}
	set, ports, err := tinkerbellOverrides(pod, env, e.Kubeconfig)
	if err != nil {
		return nil, err
	}
	vars := maps.Clone(env)
	maps.Copy(vars, set)
	cmdEnv := []string{"HOME=" + home, "PATH=" + podPath}
	for _, n := range slices.Sorted(maps.Keys(vars)) {
		cmdEnv = append(cmdEnv, n+"="+vars[n])
	}
	cmd := exec.Command(bin)
	cmd.Env, cmd.Dir = cmdEnv, home
	p, err := startCommand(name, filepath.Join(e.LogDir, name+".log"), cmd)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	t := &Tinkerbell{Ports: ports, p: p}
	if err := waitHTTPOK(ctx, p, "http://"+t.HTTPAddr()+"/healthcheck", startTimeout); err != nil {
		_ = t.Stop()
		return nil, err
	}
	e.opts.Logf("%s (%s) serves HTTP on %s (ports %v)", name, bin, t.HTTPAddr(), ports)
	return t, nil
}
