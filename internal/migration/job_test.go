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

package migration

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestNewJob(t *testing.T) {
	g := NewWithT(t)
	job := NewJob(JobOptions{
		Name:                "tink-migrate-v0-22-1-pre",
		Namespace:           "tink-system",
		Image:               "ghcr.io/kubetink/kubetink:v0.1.0",
		ServiceAccountName:  "kubetink-migrate",
		From:                "0.6.2",
		To:                  "v0.22.1",
		Phase:               PreUpgrade,
		PublicIP:            testPublicIP,
		TinkerbellHosts:     []string{"tink.example.com"},
		ArtifactsFileServer: "http://192.168.2.112:7173/hook",
		BackupNamespace:     "tink-system",
		Labels:              map[string]string{"kubetink.io/name": "tink"},
	})

	g.Expect(job.Name).To(Equal("tink-migrate-v0-22-1-pre"))
	g.Expect(job.Namespace).To(Equal("tink-system"))
	g.Expect(job.Labels).To(HaveKeyWithValue("kubetink.io/name", "tink"))
	g.Expect(job.Labels).To(HaveKeyWithValue(PhaseLabel, "pre"))
	g.Expect(job.Annotations).To(Equal(map[string]string{FromAnnotation: "0.6.2", ToAnnotation: "v0.22.1"}))
	g.Expect(*job.Spec.BackoffLimit).To(BeNumerically("<=", 1))
	g.Expect(*job.Spec.ActiveDeadlineSeconds).To(Equal(int64(DefaultJobDeadline / time.Second)))

	pod := job.Spec.Template.Spec
	g.Expect(job.Spec.Template.Labels).To(Equal(job.Labels))
	g.Expect(pod.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
	g.Expect(pod.ServiceAccountName).To(Equal("kubetink-migrate"))
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.Containers).To(HaveLen(1))
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal("ghcr.io/kubetink/kubetink:v0.1.0"))
	g.Expect(c.Args).To(Equal([]string{
		"migrate", "--from=0.6.2", "--to=v0.22.1", "--phase=pre", "--public-ip=192.168.2.111",
		"--tinkerbell-host=tink.example.com", "--artifacts-file-server=http://192.168.2.112:7173/hook",
		"--backup-namespace=tink-system",
	}))
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(c.SecurityContext.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))
	g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))

	post := NewJob(JobOptions{Name: "x", Phase: PostUpgrade, From: "v0.19.0", To: "v0.20.0", ActiveDeadline: time.Minute})
	g.Expect(post.Spec.Template.Spec.Containers[0].Args).To(Equal([]string{"migrate", "--from=v0.19.0", "--to=v0.20.0", "--phase=post"}))
	g.Expect(*post.Spec.ActiveDeadlineSeconds).To(Equal(int64(60)))
}

func TestDetermineJobState(t *testing.T) {
	condition := func(typ batchv1.JobConditionType, status corev1.ConditionStatus, reason, msg string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: status, Reason: reason, Message: msg}
	}
	tests := []struct {
		name       string
		job        *batchv1.Job
		wantState  JobState
		wantDetail string
	}{
		{name: "no job", job: nil, wantState: JobNotStarted},
		{name: "created", job: &batchv1.Job{}, wantState: JobRunning},
		{name: "active", job: &batchv1.Job{Status: batchv1.JobStatus{Active: 1}}, wantState: JobRunning},
		{name: "complete", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", ""),
			condition(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", ""),
		}}}, wantState: JobSucceeded},
		{name: "success criteria met, pods still terminating", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", ""),
		}}}, wantState: JobRunning},
		{name: "failed", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			condition(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
		}}}, wantState: JobFailed, wantDetail: "BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{name: "failure target while pods terminate", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", "Job was active longer than specified deadline"),
		}}}, wantState: JobFailed, wantDetail: "DeadlineExceeded: Job was active longer than specified deadline"},
		{name: "failed without message", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailed, corev1.ConditionTrue, "", ""),
		}}}, wantState: JobFailed, wantDetail: "the migration Job failed"},
		{name: "false conditions are ignored", job: &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			condition(batchv1.JobFailed, corev1.ConditionFalse, "x", "y"),
		}}}, wantState: JobRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			state, detail := DetermineJobState(tt.job)
			g.Expect(state).To(Equal(tt.wantState))
			g.Expect(detail).To(Equal(tt.wantDetail))
		})
	}
}
