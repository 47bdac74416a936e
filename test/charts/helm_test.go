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
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubetink/kubetink/internal/catalog"
	"github.com/kubetink/kubetink/test/upstreamcharts"
)

// chartsDirEnv names an environment variable that, when set, replaces upstreamcharts.SharedDir (a checkout
// outside this workspace, such as a worktree, that has the charts elsewhere).
const chartsDirEnv = "UPSTREAM_CHARTS_DIR"

// repoRoot is the repository root, relative to this package's directory (where "go test" runs it).
const repoRoot = "../.."

// kubeVersion is the Kubernetes version of the test cluster (KUBE_VERSION in the Makefile).
const kubeVersion = "v1.37.2"

// archives caches the chart archives by chart name and version: every test loads a fresh chart from them, since Helm's dependency
// processing trims the chart it installs.
var archives sync.Map

// chartArchive returns the packaged upstream chart of rel: this workspace's copy, or upstream's, pulled from
// oci://ghcr.io/tinkerbell/charts. A chart neither has fails the test: these tests prove the real charts and have
// nothing to fall back to.
func chartArchive(t testing.TB, rel catalog.Release) []byte {
	t.Helper()
	c := upstreamcharts.Chart{Name: "tinkerbell", Version: rel.ChartVersion}
	if rel.Legacy {
		c.Name = "stack"
	}
	dir := filepath.Join(repoRoot, upstreamcharts.SharedDir)
	if d := os.Getenv(chartsDirEnv); d != "" {
		dir = d
	}
	key := c.Name + ":" + c.Version
	if data, ok := archives.Load(key); ok {
		return data.([]byte)
	}
	data, err := upstreamcharts.Archive(context.Background(), dir, c)
	if err != nil {
		t.Fatalf("the upstream chart of Tinkerbell %s: %v (%s names another directory of packaged charts)", rel.Version, err, chartsDirEnv)
	}
	archives.Store(key, data)
	return data
}

// helmTemplate renders the chart of rel the way helm-controller installs the HelmRelease hr: release name and
// namespace from spec.releaseName and spec.targetNamespace, values from spec.values, CRDs skipped, the test
// cluster's Kubernetes version and Helm's default capabilities. It returns every object of the manifest and of
// the hooks, or the error Helm gives (a chart's fail or required, a schema violation, a template error).
func helmTemplate(t testing.TB, rel catalog.Release, hr *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	t.Helper()
	releaseName, _, _ := unstructured.NestedString(hr.Object, "spec", "releaseName")
	namespace, _, _ := unstructured.NestedString(hr.Object, "spec", "targetNamespace")
	if releaseName == "" || namespace == "" {
		t.Fatalf("HelmRelease %s has no spec.releaseName or spec.targetNamespace", hr.GetName())
	}
	if crds, _, _ := unstructured.NestedString(hr.Object, "spec", "install", "crds"); crds != "Skip" {
		t.Fatalf("HelmRelease %s: spec.install.crds is %q; these tests template the chart without its CRDs", hr.GetName(), crds)
	}
	vals, _, err := unstructured.NestedMap(hr.Object, "spec", "values")
	if err != nil {
		t.Fatalf("HelmRelease %s: spec.values: %v", hr.GetName(), err)
	}

	chrt, err := loader.LoadArchive(bytes.NewReader(chartArchive(t, rel)))
	if err != nil {
		t.Fatalf("loading the chart of Tinkerbell %s: %v", rel.Version, err)
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.SkipCRDs = true
	install.Replace = true
	install.KubeVersion = kv
	r, err := install.Run(chrt, vals)
	if err != nil {
		return nil, err
	}
	res, ok := r.(*releasev1.Release)
	if !ok {
		t.Fatalf("Helm returned a %T, not a release", r)
	}
	manifests := []string{res.Manifest}
	for _, h := range res.Hooks {
		manifests = append(manifests, h.Manifest)
	}
	var objs []*unstructured.Unstructured
	for _, m := range manifests {
		objs = append(objs, decodeObjects(t, m)...)
	}
	return objs, nil
}

// decodeObjects splits a multi-document manifest into objects.
func decodeObjects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding the rendered manifest: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// unstructuredValues returns the HelmRelease's spec.values.
func unstructuredValues(hr *unstructured.Unstructured) (map[string]any, bool, error) {
	return unstructured.NestedMap(hr.Object, "spec", "values")
}
