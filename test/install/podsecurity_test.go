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
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubetink/kubetink/internal/migration"
)

// restrictedNamespace creates a namespace that enforces the "restricted" Pod Security Standard.
func restrictedNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := k8sClient.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// The manager's pod is admitted where the restricted Pod Security Standard is enforced, and the test would see a
// violation: each weakened copy of the pod is refused.
func TestPodSecurity_ManagerPodIsRestricted(t *testing.T) {
	g := NewWithT(t)
	objs := defaultObjects(t)
	g.Expect(find(objs, "Namespace", systemNamespace).GetLabels()).To(
		HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"), "the install's own namespace enforces it")
	deploy := deployment(t, objs)
	ns := restrictedNamespace(t)

	g.Expect(k8sClient.Create(t.Context(), podFrom(deploy, ns), client.DryRunAll)).To(Succeed())

	for name, weaken := range map[string]func(*corev1.Pod){
		"runs as root": func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot, p.Spec.SecurityContext.RunAsUser = nil, ptr.To[int64](0)
			p.Spec.Containers[0].SecurityContext.RunAsNonRoot = nil
		},
		"allows privilege escalation": func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = new(true)
		},
		"keeps capabilities": func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.Capabilities = nil },
		"has no seccomp profile": func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		},
		"mounts a host path": func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}
		},
	} {
		pod := podFrom(deploy, ns)
		weaken(pod)
		err := k8sClient.Create(t.Context(), pod, client.DryRunAll)
		g.Expect(err).To(MatchError(ContainSubstring(`violates PodSecurity "restricted:latest"`)), "a pod that %s", name)
	}
}

// What the restricted standard does not check, the issue asks for all the same: a read-only root filesystem,
// requests and limits, leader election and probes.
func TestPodSecurity_ManagerPodHardening(t *testing.T) {
	g := NewWithT(t)
	deploy := deployment(t, defaultObjects(t))
	c := managerContainer(t, deploy)
	g.Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(c.SecurityContext.Capabilities.Add).To(BeEmpty())
	g.Expect(deploy.Spec.Template.Spec.SecurityContext.RunAsUser).To(HaveValue(BeEquivalentTo(65532)), "the image's USER")
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		g.Expect(c.Resources.Requests).To(HaveKey(r))
		g.Expect(c.Resources.Limits).To(HaveKey(r))
		req, limit := c.Resources.Requests[r], c.Resources.Limits[r]
		g.Expect(req.Cmp(limit)).To(BeNumerically("<=", 0))
	}
	g.Expect(c.Resources.Limits.Memory().Cmp(resource.MustParse("128Mi"))).To(BeNumerically(">=", 0))
	g.Expect(c.Args).To(ContainElement("--enable-leader-election"))
	g.Expect(c.LivenessProbe).NotTo(BeNil())
	g.Expect(c.ReadinessProbe).NotTo(BeNil())
	// The only writable path is an emptyDir on /tmp.
	g.Expect(c.VolumeMounts).To(ConsistOf(HaveField("MountPath", "/tmp")))
	g.Expect(deploy.Spec.Template.Spec.Volumes).To(ConsistOf(HaveField("EmptyDir", Not(BeNil()))))
}

// The migration Jobs run in the Tinkerbell's namespace, which may enforce the restricted standard too.
func TestPodSecurity_MigrationJobPodIsRestricted(t *testing.T) {
	g := NewWithT(t)
	ns := restrictedNamespace(t)
	job := migration.NewJob(migration.JobOptions{Name: "tb-migrate-v0-25-0-pre", Namespace: ns, Image: "ghcr.io/kubetink/kubetink:v0.0.0",
		ServiceAccountName: "kubetink-migration", From: "v0.19.0", To: "v0.25.0", Phase: migration.PreUpgrade})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "migrate-", Namespace: ns, Labels: job.Spec.Template.Labels},
		Spec: job.Spec.Template.Spec}
	g.Expect(k8sClient.Create(t.Context(), pod, client.DryRunAll)).To(Succeed())
}
