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

package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// config/default is a complete install: every object the operator needs, and nothing else.
func TestDefault_IsACompleteInstall(t *testing.T) {
	g := NewWithT(t)
	objs := defaultObjects(t)
	got := make([]string, 0, len(objs))
	for _, u := range objs {
		got = append(got, u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName())
	}
	g.Expect(got).To(ConsistOf(
		"Namespace//kubetink-system",
		"CustomResourceDefinition//tinkerbells.kubetink.io",
		"ServiceAccount/kubetink-system/kubetink-manager",
		"ClusterRole//kubetink-manager",
		"ClusterRoleBinding//kubetink-manager",
		"Role/kubetink-system/kubetink-leader-election",
		"RoleBinding/kubetink-system/kubetink-leader-election",
		"ClusterRole//kubetink-migration",
		"ClusterRole//kubetink-migration-crds",
		"ClusterRole//kubetink-view",
		"ClusterRole//kubetink-edit",
		"ValidatingAdmissionPolicy//kubetink-manager-guardrails",
		"ValidatingAdmissionPolicyBinding//kubetink-manager-guardrails",
		"ValidatingAdmissionPolicy//kubetink-manager-gitops-guardrails",
		"ValidatingAdmissionPolicyBinding//kubetink-manager-gitops-guardrails",
		"ValidatingAdmissionPolicy//kubetink-manager-migration-guardrails",
		"ValidatingAdmissionPolicyBinding//kubetink-manager-migration-guardrails",
		"ConfigMap/kubetink-system/kubetink-manager-guardrails",
		"ConfigMap/kubetink-system/kubetink-policy",
		"ValidatingAdmissionPolicy//kubetink-manager-migration-image",
		"ValidatingAdmissionPolicyBinding//kubetink-manager-migration-image",
		"ValidatingAdmissionPolicy//kubetink-tinkerbell-policy",
		"ValidatingAdmissionPolicyBinding//kubetink-tinkerbell-policy",
		"Deployment/kubetink-system/kubetink-manager",
		"Service/kubetink-system/kubetink-metrics",
	))
}

// The apiserver accepts every object of config/default: schemas, strict field validation and admission, without
// persisting anything.
func TestDefault_ServerDryRun(t *testing.T) {
	g := NewWithT(t)
	objs := defaultObjects(t)
	// A server-side dry run cannot create the namespace its other objects go into; on a fresh cluster the real
	// apply creates it first (kustomize orders Namespaces first). Create it here, as that apply would.
	ns := &corev1.Namespace{}
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(find(objs, "Namespace", systemNamespace).Object, ns)).To(Succeed())
	if err := k8sClient.Create(t.Context(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	for _, mode := range [][]string{{}, {"--server-side"}} {
		args := append([]string{"apply", "--dry-run=server"}, mode...)
		out, err := kubectl(append(args, "-k", "config/default")...)
		g.Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		g.Expect(lines).To(HaveLen(len(objs)), "one line per object:\n%s", out)
		g.Expect(lines).To(HaveEach(HaveSuffix("(server dry run)")))
	}
}

// The dry run catches a broken install: a field the apiserver does not know is refused, not dropped.
func TestDefault_ServerDryRunRefusesABrokenManifest(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	g.Expect(exec.Command("cp", "-r", filepath.Join(repoRoot, "config"), dir).Run()).To(Succeed())
	manager := filepath.Join(dir, "config", "manager", "manager.yaml")
	data, err := os.ReadFile(manager)
	g.Expect(err).NotTo(HaveOccurred())
	broken := strings.Replace(string(data), "      serviceAccountName: kubetink-manager\n",
		"      serviceAccountName: kubetink-manager\n      serviceAcountName: typo\n", 1)
	g.Expect(broken).NotTo(Equal(string(data)))
	g.Expect(os.WriteFile(manager, []byte(broken), 0o600)).To(Succeed())

	installed(t) // the namespace exists, so only the broken field can fail the dry run
	_, err = kubectl("apply", "--dry-run=server", "-k", filepath.Join(dir, "config", "default"))
	g.Expect(err).To(MatchError(ContainSubstring(`unknown field "spec.template.spec.serviceAcountName"`)))
}

// The metrics Service reaches the port the manager serves metrics on, and the probes the health port.
func TestDefault_ServiceAndProbesMatchTheManager(t *testing.T) {
	g := NewWithT(t)
	objs := defaultObjects(t)
	deploy := deployment(t, objs)
	svc := &corev1.Service{}
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(find(objs, "Service", "kubetink-metrics").Object, svc)).To(Succeed())

	g.Expect(deploy.Spec.Template.Labels).To(HaveKeyWithValue("app.kubernetes.io/name", "kubetink"))
	for k, v := range svc.Spec.Selector {
		g.Expect(deploy.Spec.Template.Labels).To(HaveKeyWithValue(k, v))
	}
	c := managerContainer(t, deploy)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	g.Expect(svc.Spec.Ports).To(ConsistOf(HaveField("TargetPort.StrVal", "metrics")))
	g.Expect(c.Args).To(ContainElements("--metrics-addr=:8080", "--health-addr=:9440"))
	g.Expect(ports).To(Equal(map[string]int32{"metrics": 8080, "healthz": 9440}))
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(c.LivenessProbe.HTTPGet.Port.StrVal).To(Equal("healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Port.StrVal).To(Equal("healthz"))
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	u := find(objs, "Deployment", "kubetink-manager")
	if u == nil {
		t.Fatal("config/default has no Deployment kubetink-manager")
	}
	d := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
		t.Fatal(err)
	}
	return d
}

func managerContainer(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == "manager" {
			return c
		}
	}
	t.Fatal("the Deployment has no container named manager")
	return nil
}

// podFrom builds the Pod the Deployment's ReplicaSet would create, for admission checks.
func podFrom(d *appsv1.Deployment, namespace string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: d.Name + "-", Namespace: namespace,
			Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations},
		Spec: *d.Spec.Template.Spec.DeepCopy(),
	}
}
