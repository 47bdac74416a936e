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

package migrationscale

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/testutil"
	"github.com/kubetink/kubetink/test/upstreamcrds"
)

// The upgrade the harness measures, and the releases whose upstream CRDs stand in for its two ends.
const (
	fromVersion = "v0.21.0"
	toVersion   = "v0.25.0"
	// fromCRDs: upstream ships no CRD files of v0.21.0 in this workspace; v0.22.1's stand in. Both are of the
	// same CRD epoch (v0.20.0 to v0.25.0), within which the CRDs only gain fields (test/charts checks that), so
	// every object v0.21.0 accepts is one the v0.22.1 CRDs accept and keep.
	fromCRDs = "v0.22.1"
	// toCRDs are v0.25.0's own (crd/bases/v1alpha1 at the tag, the version Kubetink installs). Both are read
	// from this workspace's copies of upstream's files (test/upstreamcrds), never copied into the repository.
	toCRDs = "v0.25.0"

	publicIP     = "192.168.2.111"
	tinkHostName = "tink.example.com"
	// backupNamespace is where the Job puts the backups: the Tinkerbell's namespace.
	backupNamespace = "flux-system"
)

// objectNamespaces hold the fleet: a site serving every namespace (scope Cluster), the largest a Job migrates.
var objectNamespaces = []string{"rack-a", "rack-b", "rack-c", "rack-d"}

// examplesDir returns the directory of upstream's example manifests: $UPSTREAM_EXAMPLES_DIR or this workspace's
// ../shared/upstream/examples. They are read in place, never copied into the repository; a missing directory
// fails the harness (like test/upstreamcrds for the CRDs).
func examplesDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("UPSTREAM_EXAMPLES_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(), "..", "shared", "upstream", "examples")
	}
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("upstream's examples are not there (%v): the harness reads them from ../shared/upstream/examples or $UPSTREAM_EXAMPLES_DIR", err)
	}
	return dir
}

// crdFiles returns upstream's CRD files of one release (test/upstreamcrds).
func crdFiles(tb testing.TB, release string) []string {
	tb.Helper()
	files, err := upstreamcrds.Files(testutil.RepoRoot(), release)
	if err != nil {
		tb.Fatal(err)
	}
	return upstreamcrds.Paths(files)
}

// fleet is the generated objects: per machine a Hardware, a Workflow and a bmc Job, and one Template per ten
// objects, spread over objectNamespaces.
type fleet struct {
	templates, machines int
	// templateData is the playground's Ubuntu template with its variables filled in.
	templateData string
}

func newFleet(tb testing.TB, objects int) *fleet {
	tb.Helper()
	f := &fleet{templates: max(objects/10, 1)}
	f.machines = max((objects-f.templates)/3, 1)
	objs := testutil.ReadObjects(tb, filepath.Join(examplesDir(tb), "playground-ade5b78-vagrant-template.yaml"))
	data, _, _ := unstructured.NestedString(objs[0].Object, "spec", "data")
	if !strings.Contains(data, "$TINKERBELL_HOST_IP:7173") {
		tb.Fatal("the playground template no longer fetches its image from $TINKERBELL_HOST_IP:7173")
	}
	data = strings.NewReplacer("$TINKERBELL_HOST_IP", publicIP, "$TINKERBELL_CLIENT_PLATFORM", "amd64").Replace(data)
	// As users extend it: a metadata fetch from Tootles (7172 until v0.23.0) and a file from a mirror elsewhere.
	f.templateData = data + `      - name: "fetch metadata"
        image: quay.io/tinkerbell/actions/cexec:latest
        timeout: 180
        environment:
          BLOCK_DEVICE: {{ formatPartition ( index .Hardware.Disks 0 ) 1 }}
          FS_TYPE: ext4
          CHROOT: y
          DEFAULT_INTERPRETER: "/bin/sh -c"
          CMD_LINE: "curl -s http://` + publicIP + `:7172/2009-04-04/meta-data/instance-id > /etc/instance-id; curl -sO http://10.1.1.1:7171/extras.sh"
`
	return f
}

// changedBy returns how many objects the ports migration of v0.23.0 rewrites: every Template (Tootles URL) and
// every Hardware (iPXE script URL on Smee, metadata URL on Tootles).
func (f *fleet) changedByPorts() int {
	return f.templates + f.machines
}

func namespaceOf(i int) string {
	return objectNamespaces[i%len(objectNamespaces)]
}

func mac(i int) string {
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", i>>24&0xff, i>>16&0xff, i>>8&0xff, i&0xff)
}

func (f *fleet) template(i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Templates.APIVersion(), "kind": migration.Templates.Kind,
		"metadata": map[string]any{"name": fmt.Sprintf("ubuntu-%05d", i), "namespace": namespaceOf(i)},
		"spec":     map[string]any{"data": f.templateData},
	}}
}

// hardware follows the playground's vagrant Hardware, with the iPXE script and the cloud-init metadata on
// Tinkerbell's address as v0.21.0 serves them (Smee HTTP 7171, Tootles 7172).
func (f *fleet) hardware(i int) *unstructured.Unstructured {
	ip := fmt.Sprintf("10.%d.%d.%d", 16+i>>16&0xf, i>>8&0xff, i&0xff)
	name := fmt.Sprintf("machine-%05d", i)
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Hardware.APIVersion(), "kind": migration.Hardware.Kind,
		"metadata": map[string]any{"name": name, "namespace": namespaceOf(i), "labels": map[string]any{"rack": namespaceOf(i)}},
		"spec": map[string]any{
			"disks": []any{map[string]any{"device": "/dev/sda"}},
			"metadata": map[string]any{
				"facility": map[string]any{"facility_code": "onprem"},
				"instance": map[string]any{
					"hostname": name, "id": mac(i),
					"operating_system": map[string]any{"distro": "ubuntu", "os_slug": "ubuntu_22_04", "version": "22.04"},
				},
			},
			"interfaces": []any{map[string]any{
				"dhcp": map[string]any{
					"arch": "x86_64", "hostname": name, "lease_time": int64(86400), "mac": mac(i), "uefi": true,
					"ip":           map[string]any{"address": ip, "netmask": "255.240.0.0", "gateway": "10.16.0.1"},
					"name_servers": []any{"1.1.1.1", "8.8.8.8"},
				},
				"netboot": map[string]any{
					"allowPXE": true, "allowWorkflow": true,
					"ipxe": map[string]any{"url": "http://" + tinkHostName + ":7171/auto.ipxe"},
				},
			}},
			"userData": "#cloud-config\ndatasource:\n  Ec2:\n    metadata_urls: [\"http://" + publicIP + ":7172\"]\n    strict_id: false\n" +
				"hostname: " + name + "\nruncmd:\n  - curl -s http://mirror.example.com:8080/bootstrap.sh | sh\n",
		},
	}}
}

// workflow follows the playground's Workflow, booting the Hook ISO from Smee, with the status v0.21.0's Tink
// controller writes for a finished one.
func (f *fleet) workflow(i int) (obj *unstructured.Unstructured, status map[string]any) {
	obj = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.Workflows.APIVersion(), "kind": migration.Workflows.Kind,
		"metadata": map[string]any{"name": fmt.Sprintf("provision-%05d", i), "namespace": namespaceOf(i)},
		"spec": map[string]any{
			"templateRef": fmt.Sprintf("ubuntu-%05d", i%f.templates), "hardwareRef": fmt.Sprintf("machine-%05d", i),
			"hardwareMap": map[string]any{"device_1": mac(i)},
			"bootOptions": map[string]any{
				"toggleAllowNetboot": true, "bootMode": "isoboot",
				"isoURL": "http://" + publicIP + ":7171/iso/" + mac(i) + "/hook.iso",
			},
		},
	}}
	// The controller copies each action's rendered environment into the status.
	action := func(id, name, image, start, stop, took string, env map[string]any) any {
		return map[string]any{"id": id, "name": name, "image": image, "timeout": int64(600), "state": "SUCCESS",
			"executionStart": start, "executionStop": stop, "executionDuration": took, "environment": env}
	}
	status = map[string]any{
		"state": "SUCCESS", "agentID": mac(i), "templateRendering": "successful", "globalTimeout": int64(1800),
		"bootOptions": map[string]any{"allowNetboot": map[string]any{"toggledTrue": true, "toggledFalse": true}},
		"currentState": map[string]any{
			"agentID": mac(i), "taskID": "task-1", "taskName": "os installation", "actionID": "action-3",
			"actionName": "kexec into os", "state": "SUCCESS",
		},
		"tasks": []any{map[string]any{
			"id": "task-1", "name": "os installation", "agentID": mac(i),
			"actions": []any{
				action("action-1", "stream ubuntu image", "quay.io/tinkerbell/actions/image2disk:latest", "2026-03-01T10:00:00Z", "2026-03-01T10:01:35Z", "1m35s",
					map[string]any{"DEST_DISK": "/dev/sda", "COMPRESSED": "true", "IMG_URL": "http://" + publicIP + ":7173/jammy-server-cloudimg-amd64.raw.gz"}),
				action("action-2", "fetch metadata", "quay.io/tinkerbell/actions/cexec:latest", "2026-03-01T10:01:35Z", "2026-03-01T10:01:37Z", "2s",
					map[string]any{"BLOCK_DEVICE": "/dev/sda1", "FS_TYPE": "ext4", "CHROOT": "y", "DEFAULT_INTERPRETER": "/bin/sh -c",
						"CMD_LINE": "curl -s http://" + publicIP + ":7172/2009-04-04/meta-data/instance-id > /etc/instance-id; curl -sO http://10.1.1.1:7171/extras.sh"}),
				action("action-3", "kexec into os", "ghcr.io/jacobweinstock/waitdaemon:latest", "2026-03-01T10:01:37Z", "2026-03-01T10:01:42Z", "5s",
					map[string]any{"BLOCK_DEVICE": "/dev/sda1", "FS_TYPE": "ext4", "IMAGE": "quay.io/tinkerbell/actions/kexec:latest", "WAIT_SECONDS": "5"}),
			},
		}},
	}
	return obj, status
}

// bmcJob is the Rufio Job a Workflow's ISO boot creates: power off, insert Smee's Hook ISO, boot from it once,
// power on; finished.
func (f *fleet) bmcJob(i int) (obj *unstructured.Unstructured, status map[string]any) {
	obj = &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": migration.BMCJobs.APIVersion(), "kind": migration.BMCJobs.Kind,
		"metadata": map[string]any{"name": fmt.Sprintf("provision-%05d-iso", i), "namespace": namespaceOf(i)},
		"spec": map[string]any{
			"machineRef": map[string]any{"name": fmt.Sprintf("bmc-%05d", i), "namespace": namespaceOf(i)},
			"tasks": []any{
				map[string]any{"powerAction": "off"},
				map[string]any{"virtualMediaAction": map[string]any{"kind": "CD", "mediaURL": "http://" + publicIP + ":7171/iso/" + mac(i) + "/hook.iso"}},
				map[string]any{"oneTimeBootDeviceAction": map[string]any{"device": []any{"cdrom"}, "efiBoot": true}},
				map[string]any{"powerAction": "on"},
			},
		},
	}}
	status = map[string]any{
		"startTime": "2026-03-01T09:59:00Z", "completionTime": "2026-03-01T09:59:40Z",
		"conditions": []any{map[string]any{"type": "Completed", "status": "True"}},
	}
	return obj, status
}
