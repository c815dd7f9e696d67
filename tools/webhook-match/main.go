// Command webhook-match answers, with kube-apiserver's own admission code, which webhooks the
// API server would call for each request: the rules, namespace and object selectors, and the
// matchConditions evaluated by k8s.io/apiserver's CEL matcher, at the version of the local
// cluster. levee's tests use it to prove that matchConditions never keep a request a policy
// would judge away from levee.
//
//	webhook-match < input.json > output.json
//
// input:  {"configurations": [<Validating|MutatingWebhookConfiguration>...],
//
//	"requests": [<admission.k8s.io/v1 AdmissionRequest>...]}
//
// output: {"results": [{"calls": [{"configuration", "webhook", "type" ("validating"|"mutating"), "path", "selected", "rules",
//
//	"conditions": "match"|"skip"|"error", "failedCondition", "error"}]}]}
//
// "selected" is whether the namespace and object selectors take the request, "rules" whether
// a rule matches it: the API server sends it to the webhook when both hold and the
// matchConditions say "match" ("conditions" is evaluated for every webhook, so that an
// expression that fails on some request shows up even where the rules would not send it).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	admissionv1 "k8s.io/api/admission/v1"
	registrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apiserver/pkg/admission"
	celplugin "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/object"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

type input struct {
	Configurations []json.RawMessage `json:"configurations"`
	Requests       []json.RawMessage `json:"requests"`
}

type call struct {
	Configuration   string `json:"configuration"`
	Webhook         string `json:"webhook"`
	Type            string `json:"type"`
	Path            string `json:"path"`
	Selected        bool   `json:"selected"`
	Rules           bool   `json:"rules"`
	Conditions      string `json:"conditions"`
	FailedCondition string `json:"failedCondition,omitempty"`
	Error           string `json:"error,omitempty"`
}

type result struct {
	Calls []call `json:"calls"`
}

type hook struct {
	accessor      webhook.WebhookAccessor
	configuration string
	// "validating" or "mutating" (the accessor's own GetType says "validate" and "admit").
	kind string
	path string
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "webhook-match: %v\n", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	var given input
	if err := json.Unmarshal(raw, &given); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	hooks, err := loadHooks(given.Configurations)
	if err != nil {
		return err
	}
	// The compiler kube-apiserver's webhook admission plugin builds (generic.NewWebhook), with
	// strict cost enforcement, which is GA and locked on since Kubernetes 1.32.
	compiler := celplugin.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), true))
	results := make([]result, 0, len(given.Requests))
	for i, text := range given.Requests {
		attr, err := attributesOf(text)
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		calls := make([]call, 0, len(hooks))
		for _, h := range hooks {
			calls = append(calls, evaluate(compiler, h, attr))
		}
		results = append(results, result{Calls: calls})
	}
	return json.NewEncoder(out).Encode(map[string]any{"results": results})
}

func loadHooks(configurations []json.RawMessage) ([]hook, error) {
	var hooks []hook
	for i, text := range configurations {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(text, &meta); err != nil {
			return nil, fmt.Errorf("configuration %d: %w", i, err)
		}
		switch meta.Kind {
		case "ValidatingWebhookConfiguration":
			var config registrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(text, &config); err != nil {
				return nil, fmt.Errorf("configuration %d: %w", i, err)
			}
			for j := range config.Webhooks {
				w := &config.Webhooks[j]
				w.NamespaceSelector, w.ObjectSelector, w.FailurePolicy, w.MatchPolicy = defaulted(w.NamespaceSelector, w.ObjectSelector, w.FailurePolicy, w.MatchPolicy, w.Rules)
				hooks = append(hooks, hook{webhook.NewValidatingWebhookAccessor(fmt.Sprintf("%s/%d", config.Name, j), config.Name, w), config.Name, "validating", pathOf(w.ClientConfig)})
			}
		case "MutatingWebhookConfiguration":
			var config registrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(text, &config); err != nil {
				return nil, fmt.Errorf("configuration %d: %w", i, err)
			}
			for j := range config.Webhooks {
				w := &config.Webhooks[j]
				w.NamespaceSelector, w.ObjectSelector, w.FailurePolicy, w.MatchPolicy = defaulted(w.NamespaceSelector, w.ObjectSelector, w.FailurePolicy, w.MatchPolicy, w.Rules)
				hooks = append(hooks, hook{webhook.NewMutatingWebhookAccessor(fmt.Sprintf("%s/%d", config.Name, j), config.Name, w), config.Name, "mutating", pathOf(w.ClientConfig)})
			}
		default:
			return nil, fmt.Errorf("configuration %d: kind %q is not a webhook configuration", i, meta.Kind)
		}
	}
	return hooks, nil
}

// defaulted applies the API server's defaults for what a configuration leaves out
// (SetDefaults_ValidatingWebhook and SetDefaults_Rule in k8s.io/kubernetes/pkg/apis/admissionregistration/v1):
// an absent selector selects everything (left nil, the matchers here would select nothing),
// the failure policy is Fail, the match policy Equivalent and a rule's scope "*".
func defaulted(namespaces, objects *metav1.LabelSelector, failure *registrationv1.FailurePolicyType, match *registrationv1.MatchPolicyType, rules []registrationv1.RuleWithOperations) (*metav1.LabelSelector, *metav1.LabelSelector, *registrationv1.FailurePolicyType, *registrationv1.MatchPolicyType) {
	if namespaces == nil {
		namespaces = &metav1.LabelSelector{}
	}
	if objects == nil {
		objects = &metav1.LabelSelector{}
	}
	if failure == nil {
		fail := registrationv1.Fail
		failure = &fail
	}
	if match == nil {
		equivalent := registrationv1.Equivalent
		match = &equivalent
	}
	for i := range rules {
		if rules[i].Scope == nil {
			all := registrationv1.AllScopes
			rules[i].Scope = &all
		}
	}
	return namespaces, objects, failure, match
}

func pathOf(client registrationv1.WebhookClientConfig) string {
	if client.Service != nil && client.Service.Path != nil {
		return *client.Service.Path
	}
	if client.URL != nil {
		return *client.URL
	}
	return ""
}

// attributesOf turns an AdmissionRequest into the attributes the API server's admission chain
// carries, with objects decoded as the API server's unstructured objects are (whole numbers as int64).
func attributesOf(text json.RawMessage) (*admission.VersionedAttributes, error) {
	var request admissionv1.AdmissionRequest
	if err := json.Unmarshal(text, &request); err != nil {
		return nil, err
	}
	var objects struct {
		Object    json.RawMessage `json:"object"`
		OldObject json.RawMessage `json:"oldObject"`
		Options   json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal(text, &objects); err != nil {
		return nil, err
	}
	obj, err := decodeObject(objects.Object)
	if err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	old, err := decodeObject(objects.OldObject)
	if err != nil {
		return nil, fmt.Errorf("oldObject: %w", err)
	}
	options, err := decodeObject(objects.Options)
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	kind := schema.GroupVersionKind{Group: request.Kind.Group, Version: request.Kind.Version, Kind: request.Kind.Kind}
	resource := schema.GroupVersionResource{Group: request.Resource.Group, Version: request.Resource.Version, Resource: request.Resource.Resource}
	extra := map[string][]string{}
	for key, values := range request.UserInfo.Extra {
		extra[key] = values
	}
	userInfo := &user.DefaultInfo{Name: request.UserInfo.Username, UID: request.UserInfo.UID, Groups: request.UserInfo.Groups, Extra: extra}
	dryRun := request.DryRun != nil && *request.DryRun
	attr := admission.NewAttributesRecord(obj, old, kind, request.Namespace, request.Name, resource, request.SubResource, admission.Operation(request.Operation), options, dryRun, userInfo)
	return &admission.VersionedAttributes{Attributes: attr, VersionedKind: kind, VersionedObject: obj, VersionedOldObject: old}, nil
}

// decodeObject returns nil (an untyped nil runtime.Object) for an absent or null object.
func decodeObject(text json.RawMessage) (runtime.Object, error) {
	if len(text) == 0 || string(text) == "null" {
		return nil, nil
	}
	var content map[string]any
	if err := utiljson.Unmarshal(text, &content); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: content}, nil
}

func evaluate(compiler celplugin.ConditionCompiler, h hook, attr *admission.VersionedAttributes) call {
	c := call{Configuration: h.configuration, Webhook: h.accessor.GetName(), Type: h.kind, Path: h.path}
	c.Selected, c.Rules = selected(h.accessor, attr), matchesRules(h.accessor, attr)
	if len(h.accessor.GetMatchConditions()) == 0 {
		c.Conditions = "match"
		return c
	}
	matched := h.accessor.GetCompiledMatcher(compiler).Match(context.Background(), attr, nil, nil)
	switch {
	case matched.Error != nil:
		c.Conditions, c.Error = "error", matched.Error.Error()
	case matched.Matches:
		c.Conditions = "match"
	default:
		c.Conditions, c.FailedCondition = "skip", matched.FailedConditionName
	}
	return c
}

// selected is the first half of generic.Webhook.ShouldCallHook: the namespace selector (a
// namespace's labels are taken to be the kubernetes.io/metadata.name label the API server sets
// on every namespace) and the object selector.
func selected(h webhook.WebhookAccessor, attr admission.Attributes) bool {
	if attr.GetNamespace() != "" || attr.GetResource().Resource == "namespaces" {
		selector, err := h.GetParsedNamespaceSelector()
		if err != nil {
			return false
		}
		name := attr.GetNamespace()
		if name == "" {
			name = attr.GetName()
		}
		if !selector.Empty() && !selector.Matches(labels.Set{"kubernetes.io/metadata.name": name}) {
			return false
		}
	}
	matches, err := (&object.Matcher{}).MatchObjectSelector(h, attr)
	return err == nil && matches
}

// matchesRules is the second half: whether one of the webhook's rules matches the request.
func matchesRules(h webhook.WebhookAccessor, attr admission.Attributes) bool {
	for _, rule := range h.GetRules() {
		if (&rules.Matcher{Rule: rule, Attr: attr}).Matches() {
			return true
		}
	}
	return false
}
