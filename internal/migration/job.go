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
	"fmt"
	"maps"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

const (
	// PhaseLabel is set on migration Jobs and their Pods to the phase they run ("pre" or "post").
	PhaseLabel = "kubetink.io/migration-phase"
	// FromAnnotation and ToAnnotation record the upgrade a migration Job runs.
	FromAnnotation = "kubetink.io/migration-from"
	// ToAnnotation records the target version of a migration Job.
	ToAnnotation = "kubetink.io/migration-to"

	// DefaultJobDeadline bounds a migration Job when JobOptions.ActiveDeadline is zero.
	DefaultJobDeadline = 10 * time.Minute
	// jobBackoffLimit allows one retry: the command is idempotent, so a second Pod after an eviction or a
	// transient API failure is safe, and a real failure still surfaces quickly.
	jobBackoffLimit = 1
	// nonRootUID is the distroless "nonroot" user.
	nonRootUID = 65532
)

// JobOptions describe the migration Job of one phase.
type JobOptions struct {
	// Name and Namespace of the Job.
	Name, Namespace string
	// Image is the Kubetink image; its entrypoint must be the kubetink binary.
	Image string
	// ServiceAccountName is bound to RBACRules() and CRDRBACRules() while the Job runs.
	ServiceAccountName string
	// From and To are the versions of the upgrade.
	From, To string
	// Phase is the phase the Job runs.
	Phase Phase
	// PublicIP is Tinkerbell's public IP; URLs on it follow the port moves.
	PublicIP string
	// TinkerbellHosts are further host names or addresses Tinkerbell is reached by (optional). URLs on them move
	// like those on PublicIP.
	TinkerbellHosts []string
	// ArtifactsFileServer is the to-release's artifacts file server URL (spec.artifactsFileServer, optional):
	// where URLs of the legacy stack's Hook file server go when leaving it. Without it they are left and reported.
	ArtifactsFileServer string
	// BackupNamespace is where the backup ConfigMaps go.
	BackupNamespace string
	// ObjectsNamespace limits the migration (and so its backups) to the objects of one namespace, the one a
	// namespaced site serves; "" migrates every namespace.
	ObjectsNamespace string
	// Labels are added to the Job and its Pod.
	Labels map[string]string
	// ActiveDeadline bounds the Job; zero means DefaultJobDeadline.
	ActiveDeadline time.Duration
}

// JobArgs returns the arguments of "kubetink migrate" for opts.
func JobArgs(opts JobOptions) []string {
	args := []string{
		"migrate",
		"--from=" + opts.From,
		"--to=" + opts.To,
		"--phase=" + opts.Phase.Flag(),
	}
	if opts.PublicIP != "" {
		args = append(args, "--public-ip="+opts.PublicIP)
	}
	for _, h := range opts.TinkerbellHosts {
		args = append(args, "--tinkerbell-host="+h)
	}
	if opts.ArtifactsFileServer != "" {
		args = append(args, "--artifacts-file-server="+opts.ArtifactsFileServer)
	}
	if opts.BackupNamespace != "" {
		args = append(args, "--backup-namespace="+opts.BackupNamespace)
	}
	if opts.ObjectsNamespace != "" {
		args = append(args, "--namespace="+opts.ObjectsNamespace)
	}
	return args
}

// NewJob returns the Job that runs "kubetink migrate" for one phase. The caller sets the owner reference and
// applies it. The Pod runs once (restartPolicy Never, one retry), non-root under the restricted Pod Security
// Standard, with a read-only root filesystem, and is stopped after ActiveDeadline.
func NewJob(opts JobOptions) *batchv1.Job {
	labels := map[string]string{
		"app.kubernetes.io/name":        "kubetink",
		"app.kubernetes.io/component":   "migration",
		kubetinkv1alpha1.LabelManagedBy: kubetinkv1alpha1.ManagedBy,
		PhaseLabel:                      opts.Phase.Flag(),
	}
	maps.Copy(labels, opts.Labels)
	deadline := opts.ActiveDeadline
	if deadline <= 0 {
		deadline = DefaultJobDeadline
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        opts.Name,
			Namespace:   opts.Namespace,
			Labels:      labels,
			Annotations: map[string]string{FromAnnotation: opts.From, ToAnnotation: opts.To},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          new(int32(jobBackoffLimit)),
			ActiveDeadlineSeconds: new(int64(deadline / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: opts.ServiceAccountName,
					EnableServiceLinks: new(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   new(true),
						RunAsUser:      new(int64(nonRootUID)),
						RunAsGroup:     new(int64(nonRootUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:                     "migrate",
						Image:                    opts.Image,
						Args:                     JobArgs(opts),
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("10m"),
								corev1.ResourceMemory: resource.MustParse("64Mi"),
							},
							Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: new(false),
							ReadOnlyRootFilesystem:   new(true),
							RunAsNonRoot:             new(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}

// JobState is the state of a migration Job as the reconciler acts on it.
type JobState string

const (
	// JobNotStarted means there is no Job yet.
	JobNotStarted JobState = "NotStarted"
	// JobRunning means the Job exists and has not finished.
	JobRunning JobState = "Running"
	// JobSucceeded means the Job has the Complete condition.
	JobSucceeded JobState = "Succeeded"
	// JobFailed means the Job has the Failed condition, or FailureTarget while its Pods terminate.
	JobFailed JobState = "Failed"
)

// DetermineJobState returns the state of job (nil means not created) and, when it failed, the reason and
// message of its failure condition.
func DetermineJobState(job *batchv1.Job) (JobState, string) {
	if job == nil {
		return JobNotStarted, ""
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return JobFailed, conditionMessage(c)
		case batchv1.JobComplete:
			return JobSucceeded, ""
		}
	}
	return JobRunning, ""
}

func conditionMessage(c batchv1.JobCondition) string {
	switch {
	case c.Reason != "" && c.Message != "":
		return fmt.Sprintf("%s: %s", c.Reason, c.Message)
	case c.Message != "":
		return c.Message
	case c.Reason != "":
		return c.Reason
	}
	return "the migration Job failed"
}
