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

package v1alpha1_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
	"github.com/kubetink/kubetink/internal/testutil"
)

// Every user-facing manifest is accepted by the real apiserver's validation (server-side dry run).
func TestTinkerbell_ExamplesAndSamplesAreAccepted(t *testing.T) {
	g := NewWithT(t)
	root := testutil.RepoRoot()
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	samples, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	files = append(files, samples...)
	g.Expect(files).NotTo(BeEmpty(), "no examples or samples found")

	ns := createNamespace(t, g)
	tinkerbells := 0
	for _, f := range files {
		for _, u := range testutil.ReadObjects(t, f) {
			if u.GetKind() != kubetinkv1alpha1.TinkerbellKind {
				continue
			}
			tinkerbells++
			u.SetNamespace(ns)
			g.Expect(testEnv.Client.Create(context.Background(), u, client.DryRunAll)).
				To(Succeed(), "%s: %s was rejected", filepath.Base(f), u.GetName())
		}
	}
	g.Expect(tinkerbells).To(BeNumerically(">=", len(files)), "every file should hold a Tinkerbell")
}

// kubectl explain shows the documented fields: the API is its own user documentation.
func TestTinkerbell_KubectlExplain(t *testing.T) {
	g := NewWithT(t)
	kubectl, err := exec.LookPath("kubectl")
	g.Expect(err).NotTo(HaveOccurred(), "kubectl must be on PATH")

	explain := func(args ...string) string {
		out, _ := exec.Command(kubectl, append([]string{"--kubeconfig", testEnv.Kubeconfig, "explain"}, args...)...).CombinedOutput()
		return string(out)
	}
	// The apiserver publishes a new CRD's OpenAPI schema a moment after the CRD is established.
	var out string
	g.Eventually(func() string {
		out = explain("tinkerbell.spec", "--recursive")
		return out
	}, 30*time.Second, 250*time.Millisecond).Should(ContainSubstring("deletionPolicy"))

	for _, field := range []string{
		"version", "targetNamespace", "engine", "interval", "suspend", "publicIP", "publicIPFrom", "trustedProxies",
		"artifactsFileServer", "components", "smee", "dhcp", "mode", "bindInterface", "tootles", "rufio",
		"tinkServer", "tinkController", "logLevel", "deployment", "nodeSelector", "tolerations", "addons", "kubeVip",
		"lbClassOnly", "hookOS", "downloadURL", "persistence", "chart", "registry", "mirror", "imagePullSecrets",
		"crds", "managed", "values", "valuesFrom", "upgrade", "allowDowngrade", "scope",
	} {
		g.Expect(out).To(MatchRegexp(`(?m)^\s+`+field+`\s`), "kubectl explain --recursive lacks %s", field)
	}

	doc := explain("tinkerbell.spec.version")
	g.Expect(doc).To(ContainSubstring("selects the legacy"))
	g.Expect(explain("tinkerbell.spec.deletionPolicy")).To(ContainSubstring("never deleted"))
	g.Expect(explain("tinkerbell.status.conditions")).To(ContainSubstring("Ready, Reconciling, Stalled"))
}
