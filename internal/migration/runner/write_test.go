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

package runner

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubetink/kubetink/internal/migration"
)

// conflictingClient serves one Template and answers its first `conflicts` updates with a conflict, as the
// apiserver does when someone else wrote the object since it was read.
func conflictingClient(conflicts int32) (*dynamicfake.FakeDynamicClient, *atomic.Int32) {
	tpl := fleetTemplate("tink", 1)
	tpl.SetResourceVersion("1")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		migration.Templates.GVR(): "TemplateList", migration.Hardware.GVR(): "HardwareList", migration.Workflows.GVR(): "WorkflowList",
		migration.BMCJobs.GVR(): "JobList", migration.BMCTasks.GVR(): "TaskList", configMapGVR: "ConfigMapList",
	}, tpl)
	updates := &atomic.Int32{}
	client.PrependReactor("update", migration.Templates.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
		if updates.Add(1) <= conflicts {
			return true, nil, apierrors.NewConflict(migration.Templates.GVR().GroupResource(), "ubuntu-0001", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	return client, updates
}

func TestWriteRetriesConflictsWithAFreshCopy(t *testing.T) {
	g := NewWithT(t)
	client, updates := conflictingClient(2)
	r, err := New(client, Options{From: "v0.22.1", To: "v0.25.0", PublicIP: testPublicIP, Phases: post, BackupNamespace: backupNamespace})
	g.Expect(err).NotTo(HaveOccurred())
	results, err := r.Run(context.Background(), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counts(results[0])).To(Equal([3]int{1, 1, 0}))
	g.Expect(updates.Load()).To(BeNumerically("==", 3))
	gets := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" && a.GetResource() == migration.Templates.GVR() {
			gets++
		}
	}
	g.Expect(gets).To(Equal(2), "each retry reads the object again")
	got, err := client.Resource(migration.Templates.GVR()).Namespace("tink").Get(context.Background(), "ubuntu-0001", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	data, _, _ := unstructured.NestedString(got.Object, "spec", "data")
	g.Expect(data).To(ContainSubstring(testPublicIP + ":7080/2009-04-04"))
}

func TestWriteGivesUpAfterRepeatedConflicts(t *testing.T) {
	g := NewWithT(t)
	client, _ := conflictingClient(1000)
	r, err := New(client, Options{From: "v0.22.1", To: "v0.25.0", PublicIP: testPublicIP, Phases: post, BackupNamespace: backupNamespace})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = r.Run(context.Background(), nil)
	g.Expect(err).To(MatchError(And(ContainSubstring("failed to migrate Template tink/ubuntu-0001"), ContainSubstring("the object has been modified"))))
}

func TestPagesHoldFewerLargeObjects(t *testing.T) {
	g := NewWithT(t)
	page := func(userData int) []unstructured.Unstructured {
		out := make([]unstructured.Unstructured, 10)
		for i := range out {
			h := fleetHardware("tink", i)
			g.Expect(unstructured.SetNestedField(h.Object, strings.Repeat("x", userData), "spec", "userData")).To(Succeed())
			out[i] = *h
		}
		return out
	}
	g.Expect(nextLimit(nil)).To(BeNumerically("==", maxPageSize))
	g.Expect(nextLimit(page(2<<10))).To(BeNumerically("==", maxPageSize), "objects of a few KiB: full pages")
	g.Expect(nextLimit(page(100<<10))).To(BeNumerically("~", 40, 2), "objects of 100 KiB: about 4 MiB a page")
	g.Expect(nextLimit(page(1 << 20))).To(BeNumerically("==", minPageSize))
}
