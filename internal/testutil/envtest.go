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

// Package testutil starts the real test control plane and holds helpers shared by the tests. It is imported
// only from _test.go files.
package testutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubetink/kubetink/internal/scheme"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

// Environment is a running kube-apiserver and etcd with the Kubetink CRD installed.
type Environment struct {
	env *envtest.Environment

	// Config connects to the apiserver as an administrator.
	Config *rest.Config
	// Client is a direct (uncached) client using the Kubetink scheme.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for kubectl and subprocesses.
	Kubeconfig string
}

// Options selects the CRDs installed besides Kubetink's own.
type Options struct {
	// FluxCRDs installs the CRDs of the pinned Flux controllers (directory from $FLUX_CRDS).
	FluxCRDs bool
	// TinkerbellCRDs installs upstream's CRDs of this Tinkerbell release ("0.6.2", "v0.25.0"), as
	// test/upstreamcrds finds them.
	TinkerbellCRDs string
	// ArgoCDCRDs installs upstream's Argo CD Application CRD (test/upstreamcrds).
	ArgoCDCRDs bool
	// CRDDirs are further directories or files of CRD manifests.
	CRDDirs []string
}

// RepoRoot returns the root of the repository.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RunWithControlPlane is the TestMain of a package whose tests share one test control plane: it starts one with
// opts into *env, runs the tests, stops it and exits with the tests' code.
func RunWithControlPlane(m *testing.M, opts Options, env **Environment) {
	var err error
	if *env, err = Start(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := (*env).Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "failed to stop the test control plane:", err)
	}
	os.Exit(code)
}

// Start runs kube-apiserver and etcd from $KUBEBUILDER_ASSETS (built by "make testenv") and installs the CRDs.
// It never skips: a missing control plane is an error that says how to get one.
func Start(opts Options) (*Environment, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run the tests with \"make test\", which builds the control plane once")
	}
	dirs := []string{filepath.Join(RepoRoot(), "config", "crd", "bases")}
	if opts.FluxCRDs {
		flux := os.Getenv("FLUX_CRDS")
		if flux == "" {
			return nil, errors.New("FLUX_CRDS is not set: run the tests with \"make test\", which fetches the Flux CRDs")
		}
		dirs = append(dirs, flux)
	}
	if opts.TinkerbellCRDs != "" {
		files, err := upstreamcrds.Files(RepoRoot(), opts.TinkerbellCRDs)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, upstreamcrds.Paths(files)...)
	}
	if opts.ArgoCDCRDs {
		app, err := upstreamcrds.ArgoCDApplication(RepoRoot())
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, app)
	}
	dirs = append(dirs, opts.CRDDirs...)

	env := &envtest.Environment{
		CRDDirectoryPaths:     dirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme.New(),
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("failed to start the test control plane: %w", err)
	}
	e := &Environment{env: env, Config: cfg}
	if e.Client, err = client.New(cfg, client.Options{Scheme: env.Scheme}); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("failed to create a client: %w", err)
	}
	dir, err := os.MkdirTemp("", "kubetink-envtest-")
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("failed to write the kubeconfig: %w", err)
	}
	return e, nil
}

// Stop stops the control plane and removes the kubeconfig.
func (e *Environment) Stop() error {
	_ = os.RemoveAll(filepath.Dir(e.Kubeconfig))
	return e.env.Stop()
}
