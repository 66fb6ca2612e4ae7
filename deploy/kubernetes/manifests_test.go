// Tests of the Kubernetes examples: every manifest decodes strictly into the
// Kubernetes API types, every kustomization builds, the workloads keep the
// image's security and port contract, every collector container's config
// passes `otelcol-recordreplay validate` with the environment its pod would
// have, and the prune CronJob's sessionctl command runs (against a fake S3).
//
// This directory is a Go module of its own, so that the Kubernetes and
// kustomize libraries stay out of the collector's go.mod. Run it with
//
//	cd deploy/kubernetes && go test -count=1 ./...
//
// The built binaries come from $OTELCOL_BIN and $SESSIONCTL_BIN, else
// ../../bin/; without them the tests that run them skip, unless
// RECORDREPLAY_REQUIRE_OTELCOL=1 (as `make test` sets), then they fail.
package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// The image's contract (Dockerfile at the repository root).
const (
	imageName     = "otelcol-recordreplay"
	imageRef      = imageName + ":dev"
	imageUID      = 10001
	collectorPath = "/otelcol-recordreplay"
	entrypoint    = "/imagestart" // the ENTRYPOINT: execs collectorPath
	sessionctlBin = "/sessionctl"
	portGRPC      = 4317
	portHTTP      = 4318
	portHealth    = 13133
)

// The configs a collector container without args runs (cmd/imagestart):
// the capture, or the tap when FORWARD_ENDPOINT is set.
const (
	defaultConfig = "/etc/otelcol-recordreplay/config.yaml"
	tapConfig     = "/etc/otelcol-recordreplay/tap.yaml"
)

// imageArgs is what a collector container without a command runs.
func imageArgs(env map[string]string) []string {
	if env["FORWARD_ENDPOINT"] != "" {
		return []string{"--config", tapConfig}
	}
	return []string{"--config", defaultConfig}
}

// imageConfigs maps the configs the image holds to their repository files.
var imageConfigs = map[string]string{
	defaultConfig: "../../configs/container.yaml",
	tapConfig:     "../../configs/tap.yaml",
	"/etc/otelcol-recordreplay/tap-scrubbed.yaml": "../../configs/tap-scrubbed.yaml",
	"/etc/otelcol-recordreplay/replay.yaml":       "../../configs/replay.yaml",
	"/etc/otelcol-recordreplay/seed.yaml":         "../../configs/seed.yaml",
}

// variants are the directories a user applies, and the workloads each holds:
// a variant that disappears or loses its workload fails here instead of
// silently leaving the checks with nothing to check.
var variants = map[string][]string{
	"capture-filesystem": {"Deployment/otelcol-recordreplay-capture"},
	"capture-s3":         {"Deployment/otelcol-recordreplay-capture"},
	"tap-gateway":        {"Deployment/otelcol-recordreplay-tap"},
	"replay-sharded":     {"Job/otelcol-recordreplay-replay"},
	"prune":              {"CronJob/otelcol-recordreplay-prune"},
}

// object is one decoded Kubernetes object.
type object struct {
	source string // file#document, or the kustomization that built it
	kind   string
	name   string
	obj    any // *corev1.ConfigMap, *appsv1.Deployment, ...
}

// newTyped returns the API type of apiVersion/kind: the kinds the examples
// may use. Any other kind fails, rather than being decoded loosely.
func newTyped(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/Secret":
		return &corev1.Secret{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "batch/v1/CronJob":
		return &batchv1.CronJob{}, true
	}
	return nil, false
}

// decodeStrict decodes one YAML document into v as the API server would:
// case-sensitive field names, and an error for unknown or duplicate fields.
func decodeStrict(doc []byte, v any) error {
	j, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decodeObjects decodes every document of a (multi-document) YAML stream.
func decodeObjects(source string, data []byte) ([]*object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		where := fmt.Sprintf("%s#%d", source, i)
		j, err := sigsyaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue // only comments, or an empty document
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		v, ok := newTyped(tm.APIVersion, tm.Kind)
		if !ok {
			return nil, fmt.Errorf("%s: apiVersion %q kind %q is not a kind the examples use (extend newTyped)", where, tm.APIVersion, tm.Kind)
		}
		if err := decodeStrict(doc, v); err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where, tm.Kind, err)
		}
		name := v.(metav1.Object).GetName()
		if name == "" {
			return nil, fmt.Errorf("%s (%s): no metadata.name", where, tm.Kind)
		}
		out = append(out, &object{source: where, kind: tm.Kind, name: name, obj: v})
	}
}

func isKustomization(path string) bool {
	switch filepath.Base(path) {
	case "kustomization.yaml", "kustomization.yml", "Kustomization":
		return true
	}
	return false
}

// yamlFiles lists every YAML file under this directory.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml") || isKustomization(path)) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func readKustomization(path string) (*kusttypes.Kustomization, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var k kusttypes.Kustomization
	if err := decodeStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &k, nil
}

// TestManifestFiles decodes every YAML file strictly: manifests into the
// Kubernetes API types, kustomization.yaml into kustomize's. Every resource a
// kustomization lists exists, and every manifest is listed by one (so that
// the build checks below see it).
func TestManifestFiles(t *testing.T) {
	files := yamlFiles(t)
	listed := map[string]bool{}
	manifests := 0
	for _, f := range files {
		if !isKustomization(f) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeObjects(f, data)
			if err != nil {
				t.Error(err)
				continue
			}
			if len(objs) == 0 {
				t.Errorf("%s: no Kubernetes object in it", f)
			}
			manifests++
			continue
		}
		k, err := readKustomization(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if k.Kind != kusttypes.KustomizationKind || k.APIVersion != kusttypes.KustomizationVersion {
			t.Errorf("%s: apiVersion %q kind %q, want %s %s", f, k.APIVersion, k.Kind, kusttypes.KustomizationVersion, kusttypes.KustomizationKind)
		}
		if dep := *k.CheckDeprecatedFields(); len(dep) > 0 {
			t.Errorf("%s: deprecated fields: %v", f, dep)
		}
		for _, r := range k.Resources {
			p := filepath.Join(filepath.Dir(f), r)
			st, err := os.Stat(p)
			switch {
			case err != nil:
				t.Errorf("%s: resource %s: %v", f, r, err)
			case st.IsDir():
				if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
					t.Errorf("%s: resource %s is a directory without kustomization.yaml", f, r)
				}
			default:
				listed[filepath.Clean(p)] = true
			}
		}
	}
	if manifests == 0 {
		t.Fatal("no manifests found")
	}
	for _, f := range files {
		if !isKustomization(f) && !listed[filepath.Clean(f)] {
			t.Errorf("%s is listed by no kustomization.yaml: nothing applies it, and the checks on the built variants never see it", f)
		}
	}
}

// bundle is what `kubectl apply -k dir` would apply.
type bundle struct {
	dir  string
	kust *kusttypes.Kustomization
	objs []*object
}

var buildBundles = sync.OnceValues(func() ([]*bundle, error) {
	dirs := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isKustomization(path) {
			dirs[filepath.Dir(path)] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*bundle
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		kust, err := readKustomization(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		m, err := k.Run(filesys.MakeFsOnDisk(), abs)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		y, err := m.AsYaml()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		objs, err := decodeObjects("kustomize build "+dir, y)
		if err != nil {
			return nil, err
		}
		out = append(out, &bundle{dir: dir, kust: kust, objs: objs})
	}
	return out, nil
})

func bundles(t *testing.T) []*bundle {
	t.Helper()
	bs, err := buildBundles()
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func (b *bundle) find(kind, name string) *object {
	for _, o := range b.objs {
		if o.kind == kind && o.name == name {
			return o
		}
	}
	return nil
}

func (b *bundle) configMap(name string) *corev1.ConfigMap {
	if o := b.find("ConfigMap", name); o != nil {
		return o.obj.(*corev1.ConfigMap)
	}
	return nil
}

func (b *bundle) secret(name string) *corev1.Secret {
	if o := b.find("Secret", name); o != nil {
		return o.obj.(*corev1.Secret)
	}
	return nil
}

// secretValue reads a key of a Secret as the pod sees it (stringData wins).
func secretValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return v, true
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// workload is a pod template and what runs it.
type workload struct {
	kind, name string
	pod        *corev1.PodTemplateSpec
	deployment *appsv1.Deployment
	job        *batchv1.JobSpec // a Job's, or a CronJob's job template
}

func (w workload) String() string { return w.kind + "/" + w.name }

// indexed reports the completion indexes of an Indexed Job (nil otherwise).
func (w workload) indexes() []int {
	if w.job == nil || w.job.CompletionMode == nil || *w.job.CompletionMode != batchv1.IndexedCompletion || w.job.Completions == nil {
		return nil
	}
	out := make([]int, *w.job.Completions)
	for i := range out {
		out[i] = i
	}
	return out
}

func (b *bundle) workloads() []workload {
	var out []workload
	for _, o := range b.objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, workload{kind: o.kind, name: o.name, pod: &v.Spec.Template, deployment: v})
		case *batchv1.Job:
			out = append(out, workload{kind: o.kind, name: o.name, pod: &v.Spec.Template, job: &v.Spec})
		case *batchv1.CronJob:
			out = append(out, workload{kind: o.kind, name: o.name, pod: &v.Spec.JobTemplate.Spec.Template, job: &v.Spec.JobTemplate.Spec})
		}
	}
	return out
}

func containers(p *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range p.InitContainers {
		out = append(out, &p.InitContainers[i])
	}
	for i := range p.Containers {
		out = append(out, &p.Containers[i])
	}
	return out
}

func isCollector(c *corev1.Container) bool {
	return len(c.Command) == 0 || c.Command[0] == collectorPath || c.Command[0] == entrypoint
}

func isSessionctl(c *corev1.Container) bool {
	return len(c.Command) > 0 && c.Command[0] == sessionctlBin
}

// TestVariants checks that the variants the README names exist and hold
// their workloads, and that each uses the image through kustomize `images:`
// (so that users can set newName/newTag).
func TestVariants(t *testing.T) {
	bs := bundles(t)
	seen := map[string]bool{}
	for _, b := range bs {
		seen[b.dir] = true
		var have []string
		for _, w := range b.workloads() {
			have = append(have, w.String())
		}
		if want, ok := variants[b.dir]; ok && !slices.Equal(have, want) {
			t.Errorf("%s: workloads %v, want %v", b.dir, have, want)
		}
		if len(have) == 0 {
			continue
		}
		if !slices.ContainsFunc(b.kust.Images, func(i kusttypes.Image) bool { return i.Name == imageName }) {
			t.Errorf("%s/kustomization.yaml: no images entry named %q: users cannot set their registry and tag", b.dir, imageName)
		}
	}
	for dir := range variants {
		if !seen[dir] {
			t.Errorf("variant %s: no %s/kustomization.yaml", dir, dir)
		}
	}
}

// TestWorkloads checks every workload of every built variant: image,
// security context, resources, volumes and references, probes and ports of
// long-running collectors, the Job's indexing and deadline, and Services.
func TestWorkloads(t *testing.T) {
	n := 0
	for _, b := range bundles(t) {
		for _, w := range b.workloads() {
			n++
			t.Run(b.dir+"/"+w.String(), func(t *testing.T) { checkWorkload(t, b, w) })
		}
		for _, o := range b.objs {
			if s, ok := o.obj.(*corev1.Service); ok {
				t.Run(b.dir+"/Service/"+o.name, func(t *testing.T) { checkService(t, b, s) })
			}
		}
	}
	if n == 0 {
		t.Fatal("no workloads found")
	}
}

func checkWorkload(t *testing.T, b *bundle, w workload) {
	spec := &w.pod.Spec
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.FSGroup == nil || *psc.FSGroup != imageUID {
		t.Errorf("pod securityContext.fsGroup %v, want %d", deref(psc.FSGroup), imageUID)
	}
	if len(spec.Containers) == 0 {
		t.Fatal("no containers")
	}
	for _, c := range containers(spec) {
		csc := c.SecurityContext
		if csc == nil {
			csc = &corev1.SecurityContext{}
		}
		// The container's setting wins over the pod's.
		nonRoot := first(csc.RunAsNonRoot, psc.RunAsNonRoot)
		if nonRoot == nil || !*nonRoot {
			t.Errorf("container %s: runAsNonRoot is not true", c.Name)
		}
		if u := first(csc.RunAsUser, psc.RunAsUser); u == nil || *u != imageUID {
			t.Errorf("container %s: runAsUser %v, want %d", c.Name, deref(u), imageUID)
		}
		if g := first(csc.RunAsGroup, psc.RunAsGroup); g == nil || *g != imageUID {
			t.Errorf("container %s: runAsGroup %v, want %d", c.Name, deref(g), imageUID)
		}
		seccomp := csc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %s: seccompProfile is not RuntimeDefault", c.Name)
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
		if csc.Privileged != nil && *csc.Privileged {
			t.Errorf("container %s: privileged", c.Name)
		}
		if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities %+v, want drop [ALL] and nothing added", c.Name, csc.Capabilities)
		}
		if c.Image != imageRef {
			t.Errorf("container %s: image %q, want %q", c.Name, c.Image, imageRef)
		}
		if !isCollector(c) && !isSessionctl(c) {
			t.Errorf("container %s: command %v runs neither %s nor %s", c.Name, c.Command, collectorPath, sessionctlBin)
		}
		checkResources(t, c)
		checkMounts(t, w, c)
		if _, err := b.containerEnv(w, c, firstIndex(w)); err != nil {
			t.Errorf("container %s: %v", c.Name, err)
		}
		if isCollector(c) {
			checkCollector(t, b, w, c)
		}
	}
	checkVolumes(t, b, spec)
	if d := w.deployment; d != nil {
		checkDeployment(t, d)
	}
	if w.job != nil {
		checkJob(t, b, w)
	}
}

func checkResources(t *testing.T, c *corev1.Container) {
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("container %s: resources want requests and limits of %s", c.Name, r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("container %s: %s request %s above its limit %s", c.Name, r, req.String(), lim.String())
		}
	}
}

// checkMounts: every mount names a volume of the pod.
func checkMounts(t *testing.T, w workload, c *corev1.Container) {
	for _, m := range c.VolumeMounts {
		if volume(&w.pod.Spec, m.Name) == nil {
			t.Errorf("container %s: volumeMount %q at %s: no such volume in the pod", c.Name, m.Name, m.MountPath)
		}
	}
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// checkVolumes: every volume's ConfigMap, Secret or claim is in the variant.
func checkVolumes(t *testing.T, b *bundle, spec *corev1.PodSpec) {
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm := b.configMap(v.ConfigMap.Name)
			if cm == nil {
				if v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional {
					t.Errorf("volume %s: ConfigMap %q is not in the variant", v.Name, v.ConfigMap.Name)
				}
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("volume %s: ConfigMap %q has no key %q", v.Name, cm.Name, it.Key)
				}
			}
		case v.Secret != nil:
			s := b.secret(v.Secret.SecretName)
			if s == nil {
				t.Errorf("volume %s: Secret %q is not in the variant", v.Name, v.Secret.SecretName)
				continue
			}
			for _, it := range v.Secret.Items {
				if _, ok := secretValue(s, it.Key); !ok {
					t.Errorf("volume %s: Secret %q has no key %q", v.Name, s.Name, it.Key)
				}
			}
		case v.PersistentVolumeClaim != nil:
			if b.find("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName) == nil {
				t.Errorf("volume %s: PersistentVolumeClaim %q is not in the variant", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		case v.EmptyDir != nil:
		default:
			t.Errorf("volume %s: a kind of volume this test does not know", v.Name)
		}
	}
}

func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 || len(d.Spec.Selector.MatchExpressions) > 0 {
		t.Fatalf("selector %+v: want matchLabels only", d.Spec.Selector)
	}
	if !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("selector %v does not match the template's labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	// A ReadWriteOnce volume is attached to one node: one replica, and the
	// old pod gone before the new one starts.
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("volume %s is a claim: want replicas 1, have %v", v.Name, deref(d.Spec.Replicas))
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("volume %s is a claim: want strategy Recreate, have %q", v.Name, d.Spec.Strategy.Type)
		}
	}
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkCollector: what a collector container needs beyond any container.
func checkCollector(t *testing.T, b *bundle, w workload, c *corev1.Container) {
	env, err := b.containerEnv(w, c, firstIndex(w))
	if err != nil {
		return // reported by the caller
	}
	// GOMEMLIMIT below the memory limit, so the GC works before the OOM killer.
	lim, ok := c.Resources.Limits[corev1.ResourceMemory]
	if gml, set := env["GOMEMLIMIT"]; !set {
		t.Errorf("container %s: no GOMEMLIMIT", c.Name)
	} else if n, err := parseGoMemLimit(gml); err != nil {
		t.Errorf("container %s: GOMEMLIMIT %q: %v", c.Name, gml, err)
	} else if ok && n >= lim.Value() {
		t.Errorf("container %s: GOMEMLIMIT %q (%d bytes) is not below limits.memory %s", c.Name, gml, n, lim.String())
	}

	args, err := collectorArgs(c, env)
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	cfgPath, _, err := configArg(args)
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	fromImage := (cfgPath == defaultConfig || strings.HasPrefix(cfgPath, "/etc/otelcol-recordreplay/tap")) && mountFor(c, cfgPath) == nil
	if fromImage {
		// The image's default config takes its listen addresses and store
		// from the environment: the ports and probes below must agree.
		for v, port := range map[string]int{"OTLP_GRPC_ENDPOINT": portGRPC, "OTLP_HTTP_ENDPOINT": portHTTP, "HEALTH_ENDPOINT": portHealth} {
			if e, set := env[v]; set {
				if !strings.HasSuffix(e, ":"+strconv.Itoa(port)) || strings.HasPrefix(e, "127.") || strings.HasPrefix(e, "localhost") {
					t.Errorf("container %s: %s=%q: want a pod-wide address on port %d", c.Name, v, e, port)
				}
			}
		}
		// The root filesystem is read-only: a filesystem store must be on a
		// writable volume.
		if store := envOr(env, "STORE", "filesystem"); store == "filesystem" {
			dir := envOr(env, "CAPTURE_DIR", "/data")
			m := mountFor(c, dir)
			if m == nil || m.ReadOnly {
				t.Errorf("container %s: the filesystem store %s is not on a writable volume (the root filesystem is read-only)", c.Name, dir)
			} else if v := volume(&w.pod.Spec, m.Name); v != nil && v.PersistentVolumeClaim == nil && w.kind == "Deployment" {
				t.Errorf("container %s: the store %s is on volume %s, which is not a PersistentVolumeClaim: sessions die with the pod", c.Name, dir, m.Name)
			}
		} else if store != "s3" {
			t.Errorf("container %s: STORE=%q, want filesystem or s3", c.Name, store)
		}
	}
	if w.kind != "Deployment" {
		return
	}
	// A long-running collector receives OTLP and reports its health.
	ports := map[int32]string{}
	for _, p := range c.Ports {
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			t.Errorf("container %s: port %d protocol %s, want TCP", c.Name, p.ContainerPort, p.Protocol)
		}
		ports[p.ContainerPort] = p.Name
	}
	for _, want := range []int32{portGRPC, portHTTP, portHealth} {
		if _, ok := ports[want]; !ok {
			t.Errorf("container %s: no containerPort %d", c.Name, want)
		}
	}
	for name, p := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("container %s: %s: want an httpGet probe", c.Name, name)
			continue
		}
		port, err := containerPort(c, p.HTTPGet.Port)
		if err != nil {
			t.Errorf("container %s: %s: %v", c.Name, name, err)
		} else if port != portHealth {
			t.Errorf("container %s: %s on port %d, want the health check's %d", c.Name, name, port, portHealth)
		}
		if p.HTTPGet.Path != "/" {
			t.Errorf("container %s: %s path %q, want /", c.Name, name, p.HTTPGet.Path)
		}
		if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
			t.Errorf("container %s: %s scheme %s, want HTTP", c.Name, name, p.HTTPGet.Scheme)
		}
	}
}

func checkJob(t *testing.T, b *bundle, w workload) {
	j := w.job
	if rp := w.pod.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q, want Never or OnFailure", rp)
	}
	runsCollector := slices.ContainsFunc(w.pod.Spec.Containers, func(c corev1.Container) bool { return isCollector(&c) })
	if runsCollector {
		// A collector exits by itself only if its replay says so; a replay
		// that cannot finish is ended by the deadline.
		if j.ActiveDeadlineSeconds == nil || *j.ActiveDeadlineSeconds <= 0 {
			t.Errorf("runs a collector and has no activeDeadlineSeconds (a replay that cannot finish would run forever)")
		}
		for _, c := range containers(&w.pod.Spec) {
			if isCollector(c) {
				checkShutdownWhenDone(t, b, w, c)
			}
		}
	}
	if w.kind == "Job" && runsCollector {
		if j.CompletionMode == nil || *j.CompletionMode != batchv1.IndexedCompletion {
			t.Errorf("completionMode %v, want Indexed (one shard per pod)", deref(j.CompletionMode))
		}
		if j.Completions == nil || j.Parallelism == nil || *j.Completions != *j.Parallelism || *j.Completions < 1 {
			t.Errorf("completions %v, parallelism %v: want equal (every shard runs at once, from one start time)",
				deref(j.Completions), deref(j.Parallelism))
		}
	}
	for i := range w.pod.Spec.Containers {
		c := &w.pod.Spec.Containers[i]
		env, err := b.containerEnv(w, c, firstIndex(w))
		if err != nil {
			continue
		}
		// max_duration ends the replay; the deadline must leave it time.
		if d, set := env["REPLAY_MAX_DURATION"]; set && j.ActiveDeadlineSeconds != nil {
			md, err := time.ParseDuration(d)
			switch {
			case err != nil:
				t.Errorf("container %s: REPLAY_MAX_DURATION %q: %v", c.Name, d, err)
			case md <= 0:
				t.Errorf("container %s: REPLAY_MAX_DURATION %q: want a limit, the Job's pods only end at its deadline", c.Name, d)
			case md >= time.Duration(*j.ActiveDeadlineSeconds)*time.Second:
				t.Errorf("container %s: REPLAY_MAX_DURATION %s does not fit in activeDeadlineSeconds %d", c.Name, d, *j.ActiveDeadlineSeconds)
			}
		}
	}
}

// checkShutdownWhenDone: a collector in a Job must exit when its replay is
// over, or its pod never completes: every session_replay receiver of its
// config sets shutdown_when_done to true (after the pod's env is applied).
func checkShutdownWhenDone(t *testing.T, b *bundle, w workload, c *corev1.Container) {
	env, err := b.containerEnv(w, c, firstIndex(w))
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	args, err := collectorArgs(c, env)
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	path, _, err := configArg(args)
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	data, source, err := b.configContent(w, c, path)
	if err != nil {
		t.Errorf("container %s: %v", c.Name, err)
		return
	}
	var cfg struct {
		Receivers map[string]map[string]any `json:"receivers"`
	}
	if err := sigsyaml.Unmarshal(data, &cfg); err != nil {
		t.Errorf("container %s: config %s: %v", c.Name, source, err)
		return
	}
	replays := 0
	for id, r := range cfg.Receivers {
		if id != "session_replay" && !strings.HasPrefix(id, "session_replay/") {
			continue
		}
		replays++
		v := fmt.Sprint(r["shutdown_when_done"])
		if s, ok := r["shutdown_when_done"].(string); ok {
			v = expand(s, env)
		}
		if v != "true" {
			t.Errorf("container %s: config %s: %s has shutdown_when_done %q: the collector would not exit when the replay is over, and the Job's pods would never complete", c.Name, source, id, v)
		}
	}
	if replays == 0 {
		t.Errorf("container %s: config %s has no session_replay receiver", c.Name, source)
	}
}

// checkService: a ClusterIP Service with the OTLP ports, each reaching the
// same containerPort of a pod it selects.
func checkService(t *testing.T, b *bundle, s *corev1.Service) {
	if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("type %s, want ClusterIP", s.Spec.Type)
	}
	var selected []workload
	for _, w := range b.workloads() {
		if labelsMatch(s.Spec.Selector, w.pod.Labels) {
			selected = append(selected, w)
		}
	}
	if len(selected) == 0 {
		t.Fatalf("selector %v matches no pod template in %s", s.Spec.Selector, b.dir)
	}
	have := map[int32]bool{}
	for _, p := range s.Spec.Ports {
		have[p.Port] = true
		target := p.TargetPort
		if target == (intstr.IntOrString{}) {
			target = intstr.FromInt32(p.Port)
		}
		for _, w := range selected {
			found := false
			for i := range w.pod.Spec.Containers {
				if n, err := containerPort(&w.pod.Spec.Containers[i], target); err == nil {
					found = true
					if n != p.Port {
						t.Errorf("port %s %d reaches containerPort %d of %s, want the same number", p.Name, p.Port, n, w)
					}
				}
			}
			if !found {
				t.Errorf("port %s: targetPort %s is no containerPort of %s", p.Name, target.String(), w)
			}
		}
	}
	for _, want := range []int32{portGRPC, portHTTP} {
		if !have[want] {
			t.Errorf("no port %d", want)
		}
	}
}

// containerPort resolves a probe's or Service's port (number or name).
func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, error) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, nil
		}
	}
	if p.Type == intstr.Int {
		return 0, fmt.Errorf("port %d is not a containerPort of %s", p.IntVal, c.Name)
	}
	return 0, fmt.Errorf("no containerPort named %q in %s", p.StrVal, c.Name)
}

func firstIndex(w workload) int {
	if len(w.indexes()) > 0 {
		return 0
	}
	return -1
}

// containerEnv is the environment Kubernetes gives container c (of the pod
// with completion index, or -1): envFrom, then env, with $(VAR) expanded and
// references resolved from the variant's objects.
func (b *bundle) containerEnv(w workload, c *corev1.Container, index int) (map[string]string, error) {
	env := map[string]string{}
	if index >= 0 {
		env["JOB_COMPLETION_INDEX"] = strconv.Itoa(index) // set by the Job controller
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm := b.configMap(ef.ConfigMapRef.Name)
			if cm == nil {
				if ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom: ConfigMap %q is not in the variant", ef.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				env[ef.Prefix+k] = v
			}
		case ef.SecretRef != nil:
			s := b.secret(ef.SecretRef.Name)
			if s == nil {
				if ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("envFrom: Secret %q is not in the variant", ef.SecretRef.Name)
			}
			for k, v := range s.Data {
				env[ef.Prefix+k] = string(v)
			}
			for k, v := range s.StringData {
				env[ef.Prefix+k] = v
			}
		default:
			return nil, errors.New("envFrom: neither configMapRef nor secretRef")
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expand(e.Value, env)
			continue
		}
		v, err := b.valueFrom(w, c, index, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		env[e.Name] = v
	}
	return env, nil
}

var labelOrAnnotation = regexp.MustCompile(`^metadata\.(labels|annotations)\['(.+)'\]$`)

func (b *bundle) valueFrom(w workload, c *corev1.Container, index int, vf *corev1.EnvVarSource) (string, error) {
	switch {
	case vf.ConfigMapKeyRef != nil:
		r := vf.ConfigMapKeyRef
		cm := b.configMap(r.Name)
		if cm == nil {
			return "", fmt.Errorf("ConfigMap %q is not in the variant", r.Name)
		}
		v, ok := cm.Data[r.Key]
		if !ok {
			return "", fmt.Errorf("ConfigMap %q has no key %q", r.Name, r.Key)
		}
		return v, nil
	case vf.SecretKeyRef != nil:
		r := vf.SecretKeyRef
		s := b.secret(r.Name)
		if s == nil {
			return "", fmt.Errorf("Secret %q is not in the variant", r.Name)
		}
		v, ok := secretValue(s, r.Key)
		if !ok {
			return "", fmt.Errorf("Secret %q has no key %q", r.Name, r.Key)
		}
		return v, nil
	case vf.FieldRef != nil:
		path := vf.FieldRef.FieldPath
		switch path {
		case "metadata.name":
			return fmt.Sprintf("%s-%d-x7k2p", w.name, max(index, 0)), nil
		case "metadata.namespace":
			return "default", nil
		case "metadata.uid":
			return "3f1c9a52-7d3e-4a8b-9c61-0d2e5f8a7b14", nil
		case "spec.nodeName":
			return "node-1", nil
		case "spec.serviceAccountName":
			return "default", nil
		case "status.podIP", "status.hostIP":
			return "10.1.2.3", nil
		case "metadata.annotations['batch.kubernetes.io/job-completion-index']":
			if index < 0 {
				return "", fmt.Errorf("%s: not an Indexed Job", path)
			}
			return strconv.Itoa(index), nil
		}
		if m := labelOrAnnotation.FindStringSubmatch(path); m != nil {
			if m[1] == "labels" {
				return w.pod.Labels[m[2]], nil
			}
			return w.pod.Annotations[m[2]], nil
		}
		return "", fmt.Errorf("fieldRef %s: unknown to this test", path)
	}
	return "", errors.New("valueFrom: not a configMapKeyRef, secretKeyRef or fieldRef (unknown to this test)")
}

// expand replaces $(VAR) with the variable's value as Kubernetes does in
// env values, command and args: an undefined variable stays as written,
// and $$ is a literal $.
func expand(s string, env map[string]string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			out.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			out.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				name := s[i+2 : i+end]
				if v, ok := env[name]; ok {
					out.WriteString(v)
				} else {
					out.WriteString(s[i : i+end+1])
				}
				i += end
				continue
			}
		}
		out.WriteByte(s[i])
	}
	return out.String()
}

var unresolved = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_.-]*\)`)

// commandArgs is the container's command line after the ENTRYPOINT.
func commandArgs(c *corev1.Container, env map[string]string) ([]string, error) {
	var raw []string
	if len(c.Command) > 1 {
		raw = append(raw, c.Command[1:]...)
	}
	raw = append(raw, c.Args...)
	out := make([]string, len(raw))
	for i, a := range raw {
		out[i] = expand(a, env)
		if m := unresolved.FindString(out[i]); m != "" {
			return nil, fmt.Errorf("argument %q: %s is not in the container's environment", a, m)
		}
	}
	return out, nil
}

func collectorArgs(c *corev1.Container, env map[string]string) ([]string, error) {
	if len(c.Command) == 0 && len(c.Args) == 0 {
		return imageArgs(env), nil // what the entrypoint chooses
	}
	// Otherwise the container's command and args are the collector's.
	return commandArgs(c, env)
}

// configArg returns the one --config of a collector command line, and the
// other arguments.
func configArg(args []string) (string, []string, error) {
	var cfgs, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "-config":
			if i+1 >= len(args) {
				return "", nil, errors.New("--config without a value")
			}
			cfgs = append(cfgs, args[i+1])
			i++
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			_, v, _ := strings.Cut(a, "=")
			cfgs = append(cfgs, v)
		default:
			rest = append(rest, a)
		}
	}
	if len(cfgs) != 1 {
		return "", nil, fmt.Errorf("collector arguments %q: want exactly one --config, have %d", args, len(cfgs))
	}
	if strings.Contains(cfgs[0], ":") && !strings.HasPrefix(cfgs[0], "file:") {
		return "", nil, fmt.Errorf("--config %s: only files are checked by this test", cfgs[0])
	}
	return strings.TrimPrefix(cfgs[0], "file:"), rest, nil
}

// mountFor returns the mount that holds path in container c (the deepest).
func mountFor(c *corev1.Container, path string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		mp := strings.TrimSuffix(m.MountPath, "/")
		if path == mp || strings.HasPrefix(path, mp+"/") {
			if best == nil || len(mp) > len(strings.TrimSuffix(best.MountPath, "/")) {
				best = m
			}
		}
	}
	return best
}

// configContent is the file the collector reads at path: from a ConfigMap
// mounted there, else from the image.
func (b *bundle) configContent(w workload, c *corev1.Container, path string) ([]byte, string, error) {
	if m := mountFor(c, path); m != nil {
		v := volume(&w.pod.Spec, m.Name)
		if v == nil {
			return nil, "", fmt.Errorf("--config %s: mount %s names no volume of the pod", path, m.Name)
		}
		if v.ConfigMap == nil {
			return nil, "", fmt.Errorf("--config %s: on volume %s, which is not a ConfigMap", path, m.Name)
		}
		cm := b.configMap(v.ConfigMap.Name)
		if cm == nil {
			return nil, "", fmt.Errorf("--config %s: ConfigMap %q is not in the variant", path, v.ConfigMap.Name)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(path, strings.TrimSuffix(m.MountPath, "/")), "/")
		if m.SubPath != "" {
			if rel != "" {
				return nil, "", fmt.Errorf("--config %s: below a subPath mount", path)
			}
			rel = m.SubPath
		}
		key := rel
		if len(v.ConfigMap.Items) > 0 {
			key = ""
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					key = it.Key
				}
			}
		}
		data, ok := cm.Data[key]
		if !ok || key == "" {
			return nil, "", fmt.Errorf("--config %s: ConfigMap %q has no file %q", path, cm.Name, rel)
		}
		return []byte(data), "ConfigMap " + cm.Name + " key " + key, nil
	}
	if f, ok := imageConfigs[path]; ok {
		data, err := os.ReadFile(f)
		return data, f, err
	}
	return nil, "", fmt.Errorf("--config %s: neither on a ConfigMap volume nor one of the image's configs", path)
}

// binary finds a built binary: $envVar, else ../../bin/name. Missing, the
// test skips, or fails under RECORDREPLAY_REQUIRE_OTELCOL=1.
func binary(t *testing.T, envVar, name string) string {
	t.Helper()
	candidates := []string{filepath.Join("..", "..", "bin", name)}
	if p := os.Getenv(envVar); p != "" {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			abs, err := filepath.Abs(p)
			if err != nil {
				t.Fatal(err)
			}
			return abs
		}
	}
	msg := fmt.Sprintf("%s not found (looked at %s): run `make build` in the repository root, or set %s", name, strings.Join(candidates, ", "), envVar)
	if os.Getenv("RECORDREPLAY_REQUIRE_OTELCOL") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// validate runs `otelcol-recordreplay validate` on config with exactly env.
func validate(t *testing.T, bin string, config []byte, extra []string, env map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, config, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"validate", "--config", path}, extra...)...)
	cmd.Env = envList(env)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCollectorConfigsValidate runs `otelcol-recordreplay validate` on the
// config every collector container would run, with the environment its pod
// would have (every completion index of an Indexed Job); and checks that
// validation does catch a shard index out of range and a malformed start
// time, so that passing means something.
func TestCollectorConfigsValidate(t *testing.T) {
	bin := binary(t, "OTELCOL_BIN", "otelcol-recordreplay")
	runs := 0
	for _, b := range bundles(t) {
		for _, w := range b.workloads() {
			for _, c := range containers(&w.pod.Spec) {
				if !isCollector(c) {
					continue
				}
				t.Run(b.dir+"/"+w.String()+"/"+c.Name, func(t *testing.T) {
					indexes := w.indexes()
					if indexes == nil {
						indexes = []int{-1}
					}
					var config []byte
					var extra []string
					var lastEnv map[string]string
					for _, idx := range indexes {
						env, err := b.containerEnv(w, c, idx)
						if err != nil {
							t.Fatal(err)
						}
						args, err := collectorArgs(c, env)
						if err != nil {
							t.Fatal(err)
						}
						path, rest, err := configArg(args)
						if err != nil {
							t.Fatal(err)
						}
						data, from, err := b.configContent(w, c, path)
						if err != nil {
							t.Fatal(err)
						}
						config, extra, lastEnv = data, rest, env
						out, err := validate(t, bin, data, rest, env)
						runs++
						if err != nil {
							t.Errorf("index %d: validate %s (%s): %v\n%s", idx, path, from, err, out)
						}
					}
					if len(w.indexes()) == 0 {
						return
					}
					// Negative checks: the pods' config must be the one that
					// reads its shard from the completion index and its start
					// from REPLAY_START_AT.
					n := len(w.indexes())
					env := merged(lastEnv, map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(n)})
					out, err := validate(t, bin, config, extra, env)
					if err == nil || !strings.Contains(out, "shard") {
						t.Errorf("index %d (= completions) passed validation (%v, %q): the shard count does not match completions %d, or the shard is not read from JOB_COMPLETION_INDEX", n, err, out, n)
					}
					if _, ok := lastEnv["REPLAY_START_AT"]; !ok {
						t.Errorf("REPLAY_START_AT is not in the pods' environment: the shards cannot be given one start time")
						return
					}
					start := time.Now().Add(3 * time.Minute).UTC().Format(time.RFC3339)
					if out, err := validate(t, bin, config, extra, merged(lastEnv, map[string]string{"REPLAY_START_AT": start})); err != nil {
						t.Errorf("REPLAY_START_AT=%s (as the README sets it): %v\n%s", start, err, out)
					}
					out, err = validate(t, bin, config, extra, merged(lastEnv, map[string]string{"REPLAY_START_AT": "tomorrow"}))
					if err == nil || !strings.Contains(out, "start_at") {
						t.Errorf("REPLAY_START_AT=tomorrow passed validation (%v, %q): start_at is not read from REPLAY_START_AT", err, out)
					}
				})
			}
		}
	}
	if runs < 5 {
		t.Errorf("%d validations, want at least 5 (two captures, three shards)", runs)
	}
}

func merged(base, over map[string]string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

// sessionctlFlags reads the global flags `sessionctl --help` lists, and
// whether each takes a value.
func sessionctlFlags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, "--help").CombinedOutput() // exits 2 after the usage
	flags := map[string]bool{}
	re := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)( \w+)?$`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = m[2] != ""
	}
	if len(flags) < 3 || !flags["s3-bucket"] {
		t.Fatalf("sessionctl --help lists no store flags this test understands:\n%s", out)
	}
	return flags
}

// fakeS3 answers what `sessionctl prune` asks of a bucket: the session
// listing, and each session's metadata.json. It holds one session that
// started ten years ago and one that started a minute ago.
type fakeS3 struct {
	t         *testing.T
	bucket    string
	accessKey string
	mu        sync.Mutex
	requests  []string
}

const (
	oldSession    = "capture-20160101T000000Z-0a0b0c0d"
	recentSession = "capture-recent-1a2b3c4d"
)

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.String())
	f.mu.Unlock()
	if r.Method != http.MethodGet {
		f.t.Errorf("fake S3: %s %s: a dry run changes nothing", r.Method, r.URL)
		http.Error(w, "no", http.StatusMethodNotAllowed)
		return
	}
	if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "Credential="+f.accessKey+"/") {
		f.t.Errorf("fake S3: request signed with %q, want the Secret's access key %q", auth, f.accessKey)
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	if bucket != f.bucket {
		f.t.Errorf("fake S3: bucket %q, want %q (path-style)", bucket, f.bucket)
		http.Error(w, "no such bucket", http.StatusNotFound)
		return
	}
	if key == "" && r.URL.Query().Get("list-type") == "2" {
		prefix := r.URL.Query().Get("prefix")
		var cps string
		if strings.HasSuffix(prefix, "sessions/") {
			for _, id := range []string{oldSession, recentSession} {
				cps += "<CommonPrefixes><Prefix>" + prefix + id + "/</Prefix></CommonPrefixes>"
			}
		}
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name><Prefix>%s</Prefix><Delimiter>/</Delimiter><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>%s</ListBucketResult>`,
			f.bucket, prefix, cps)
		return
	}
	for id, started := range map[string]time.Time{oldSession: time.Now().AddDate(-10, 0, 0), recentSession: time.Now().Add(-time.Minute)} {
		if strings.HasSuffix(key, "sessions/"+id+"/metadata.json") {
			end := started.Add(time.Second)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"sessionId":%q,"startTime":%q,"endTime":%q,"status":"completed","schemaVersion":1,"sessionType":"capture"}`,
				id, started.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>`)
}

// TestSessionctlArgs runs every sessionctl container's command line, as
// Kubernetes expands it from the pod's environment, plus --dry-run, against
// a fake S3 server holding an old and a recent session: its store flags are
// ones `sessionctl --help` lists, it signs with the Secret's key, and it
// would remove the old session and keep the recent one.
func TestSessionctlArgs(t *testing.T) {
	bin := binary(t, "SESSIONCTL_BIN", "sessionctl")
	known := sessionctlFlags(t, bin)
	runs := 0
	for _, b := range bundles(t) {
		for _, w := range b.workloads() {
			for _, c := range containers(&w.pod.Spec) {
				if !isSessionctl(c) {
					continue
				}
				runs++
				t.Run(b.dir+"/"+w.String()+"/"+c.Name, func(t *testing.T) {
					env, err := b.containerEnv(w, c, firstIndex(w))
					if err != nil {
						t.Fatal(err)
					}
					args, err := commandArgs(c, env)
					if err != nil {
						t.Fatal(err)
					}
					// The store flags come before the command.
					store := map[string]string{}
					i := 0
					for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
						name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
						takesValue, ok := known[name]
						if !ok {
							t.Fatalf("flag %s: not one `sessionctl --help` lists", args[i])
						}
						if takesValue && !hasValue {
							if i+1 >= len(args) {
								t.Fatalf("flag %s without a value", args[i])
							}
							i++
							value = args[i]
						}
						store[name] = value
					}
					if i >= len(args) || args[i] != "prune" {
						t.Fatalf("command line %q: want [store flags] prune ...", args)
					}
					if store["s3-bucket"] == "" {
						t.Fatalf("command line %q: no --s3-bucket: the prune CronJob works on the S3 store (the filesystem capture's volume is ReadWriteOnce)", args)
					}
					f := &fakeS3{t: t, bucket: store["s3-bucket"], accessKey: env["AWS_ACCESS_KEY_ID"]}
					srv := httptest.NewServer(f)
					defer srv.Close()
					// The manifest's store flags are parsed as they are, then
					// the endpoint is pointed at the fake (the last flag wins).
					run := slices.Concat(args[:i], []string{"--s3-endpoint=" + srv.URL, "--s3-path-style=true"}, args[i:], []string{"--dry-run"})
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					cmd := exec.CommandContext(ctx, bin, run...)
					cmd.Env = envList(env)
					cmd.Dir = t.TempDir()
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					if err := cmd.Run(); err != nil {
						t.Fatalf("sessionctl %q: %v\n%s%s", run, err, stdout.String(), stderr.String())
					}
					if !strings.Contains(stdout.String(), oldSession+": would remove") {
						t.Errorf("sessionctl %q did not offer to remove the session of ten years ago:\n%s%s\nrequests: %q", run, stdout.String(), stderr.String(), f.requests)
					}
					if strings.Contains(stdout.String(), recentSession) {
						t.Errorf("sessionctl %q would remove a session started a minute ago:\n%s", run, stdout.String())
					}
				})
			}
		}
	}
	if runs == 0 {
		t.Fatal("no sessionctl container found")
	}
}

func first[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func envOr(env map[string]string, k, def string) string {
	if v, ok := env[k]; ok && v != "" {
		return v
	}
	return def
}

// parseGoMemLimit reads GOMEMLIMIT as the Go runtime does: bytes, with an
// optional B, KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a positive number of bytes, optionally with B, KiB, MiB, GiB or TiB")
	}
	return n * mult, nil
}
