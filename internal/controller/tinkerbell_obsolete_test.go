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

package controller

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// countingReader counts the reads that reach the apiserver.
type countingReader struct {
	client.Reader
	gets atomic.Int64
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets.Add(1)
	return c.Reader.Get(ctx, key, obj, opts...)
}

// Passes that complete an install at about the same time share one look-up of the obsolete CRDs (two GETs), and
// a look-up older than obsoleteCRDsMaxAge is not used: a CRD created meanwhile is reported.
func TestTinkerbellReconciler_ObsoleteCRDsLookedUpOncePerSecond(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	reader := &countingReader{Reader: k8sClient}
	r := &TinkerbellReconciler{Client: k8sClient, APIReader: reader}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := r.obsoleteCRDs(ctx)
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
	wg.Wait()
	g.Expect(reader.gets.Load()).To(Equal(int64(2)), "one look-up: a GET for each of the two obsolete CRDs")

	data, err := os.ReadFile(filepath.Join("testdata", "obsolete", "bmc.tinkerbell.org_baseboardmanagements.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
	g.Expect(client.IgnoreAlreadyExists(k8sClient.Create(ctx, crd))).To(Succeed())

	time.Sleep(obsoleteCRDsMaxAge)
	got, err := r.obsoleteCRDs(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(ContainElement(crd.Name))
	g.Expect(reader.gets.Load()).To(Equal(int64(4)))
}
