package e2e_test

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/changerelay/changerelay/relay/config"
)

// The template names every function "${AWS::StackName}-<name>"; the relay resolves a function as
// FUNCTION_PREFIX + name, with FUNCTION_PREFIX set to the stack's FunctionPrefix output.
const templateFunctionPrefix = "${AWS::StackName}-"

// templateLambdaImport marks a functions/cmd/ directory as a Lambda function (its main calls
// lambda.Start); directories without it are command-line tools (such as indexes) and need no
// resource.
const templateLambdaImport = "github.com/aws/aws-lambda-go/lambda"

// templateNewerProperties are SAM properties newer than goformation's schema (v7.14.9), which
// rejects unknown fields: they are checked here and removed before goformation parses the rest.
var templateNewerProperties = struct{ function, event []string }{
	function: []string{"LoggingConfig"},
	event:    []string{"State"},
}

// samTemplate is template.yaml as goformation reads it, plus the template as written (intrinsic
// functions unresolved) for what goformation cannot model or resolves away.
type samTemplate struct {
	*cloudformation.Template
	raw map[string]any
}

// at walks the unresolved template: at("Resources", "UsersFunction", "Properties").
func (s samTemplate) at(path ...string) any {
	var v any = s.raw
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// TestTemplate checks template.yaml against the repository: a resource for every Lambda in
// functions/cmd/, each CodeUri present, the provided.al2023/arm64/bootstrap settings sam build
// and Lambda need, and that the relay's default routes and repair function name functions the
// template defines, with timeouts the relay waits out.
func TestTemplate(t *testing.T) {
	root := templateRepoRoot(t)
	tpl := loadSAMTemplate(t, filepath.Join(root, "template.yaml"))
	functions := tpl.GetAllServerlessFunctionResources()
	globals := templateGlobals(t, tpl)

	lambdas := templateLambdaCommands(t, filepath.Join(root, "functions", "cmd"))
	require.Subset(t, lambdas, []string{"users", "articles", "comments", "favorites", "repair"},
		"functions/cmd/ lacks one of the functions the relay invokes")

	byName := map[string]*serverless.Function{} // function name without the prefix
	for _, name := range lambdas {
		t.Run("function/"+name, func(t *testing.T) {
			id := templateLogicalID(name)
			fn, ok := functions[id]
			require.Truef(t, ok, "functions/cmd/%s is a Lambda (it imports %s) but template.yaml has no %s",
				name, templateLambdaImport, id)
			byName[name] = fn

			require.NotNil(t, fn.CodeUri, "CodeUri")
			require.NotNil(t, fn.CodeUri.String, "CodeUri must be a local path for sam build")
			assert.Equal(t, "functions/cmd/"+name, filepath.ToSlash(filepath.Clean(*fn.CodeUri.String)))
			assert.Equal(t, "${AWS::StackName}-"+name, templateString(fn.FunctionName), "FunctionName")
			assert.Equal(t, "go1.x", fn.AWSCloudFormationMetadata["BuildMethod"], "Metadata.BuildMethod")
			assert.Equal(t, "provided.al2023", templateString(templateFirst(fn.Runtime, globals.Runtime)), "Runtime")
			assert.Equal(t, "bootstrap", templateString(templateFirst(fn.Handler, globals.Handler)), "Handler")
			arch := fn.Architectures
			if arch == nil {
				arch = globals.Architectures
			}
			assert.Equal(t, []string{"arm64"}, arch, "Architectures")

			vars := map[string]string{}
			if globals.Environment != nil {
				for k, v := range globals.Environment.Variables {
					vars[k] = v
				}
			}
			if fn.Environment != nil {
				for k, v := range fn.Environment.Variables {
					vars[k] = v
				}
			}
			assert.Contains(t, vars, "MONGODB_URI_SECRET_ARN")
			assert.Contains(t, vars, "MONGODB_DATABASE")
			assert.Empty(t, vars["MONGODB_URI"], "the URI comes from the secret, never from a template value")

			logging := tpl.at("Resources", id, "Properties", "LoggingConfig")
			assert.Equal(t, "JSON", tpl.at("Resources", id, "Properties", "LoggingConfig", "LogFormat"),
				"LoggingConfig.LogFormat in %v", logging)
			assert.Equal(t, map[string]any{"Ref": templateLogicalLogGroup(name)},
				tpl.at("Resources", id, "Properties", "LoggingConfig", "LogGroup"), "LoggingConfig.LogGroup")
			group, err := tpl.GetLogsLogGroupWithName(templateLogicalLogGroup(name))
			if assert.NoError(t, err, "log group resource") {
				assert.Equal(t, "/aws/lambda/${AWS::StackName}-"+name, templateString(group.LogGroupName))
				assert.NotNil(t, group.RetentionInDays, "RetentionInDays")
			}

			for _, out := range []string{id + "Name", id + "Arn"} {
				assert.Contains(t, tpl.Outputs, out, "output for the relay")
			}
		})
	}

	t.Run("every CodeUri exists", func(t *testing.T) {
		require.NotEmpty(t, functions)
		for id, fn := range functions {
			require.NotNilf(t, fn.CodeUri, "%s: CodeUri", id)
			require.NotNilf(t, fn.CodeUri.String, "%s: CodeUri", id)
			main := filepath.Join(root, filepath.FromSlash(*fn.CodeUri.String), "main.go")
			file, err := parser.ParseFile(token.NewFileSet(), main, nil, parser.PackageClauseOnly)
			if assert.NoErrorf(t, err, "%s: CodeUri %s", id, *fn.CodeUri.String) {
				assert.Equalf(t, "main", file.Name.Name, "%s: %s must be a main package", id, main)
			}
		}
	})

	t.Run("repair schedule", func(t *testing.T) {
		repair := byName["repair"]
		require.NotNil(t, repair)
		event, ok := repair.Events["Schedule"]
		require.True(t, ok, "repair has a Schedule event")
		assert.Equal(t, "Schedule", event.Type)
		require.NotNil(t, event.Properties)
		require.NotNil(t, event.Properties.ScheduleEvent)
		require.NotNil(t, event.Properties.ScheduleEvent.Input)
		var input map[string]any
		require.NoError(t, json.Unmarshal([]byte(*event.Properties.ScheduleEvent.Input), &input))
		assert.Equal(t, map[string]any{"dryRun": false}, input)
		assert.Equal(t, map[string]any{"Fn::If": []any{"RepairScheduleOn", "ENABLED", "DISABLED"}},
			tpl.at("Resources", "RepairFunction", "Properties", "Events", "Schedule", "Properties", "State"),
			"the schedule's State follows a condition")
		assert.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "RepairScheduleEnabled"}, "true"}},
			tpl.at("Conditions", "RepairScheduleOn"), "the condition follows the RepairScheduleEnabled parameter")
	})

	t.Run("relay default routes", func(t *testing.T) {
		cfg := config.Default()
		cfg.Lambda.FunctionPrefix = templateFunctionPrefix
		assert.Equal(t, templateFunctionPrefix, tpl.Outputs["FunctionPrefix"].Value, "FunctionPrefix output")
		require.NotEmpty(t, cfg.Routes)
		for _, route := range cfg.Routes {
			fn, ok := byName[route.Function]
			if !assert.Truef(t, ok, "route %q invokes %q, which template.yaml does not define", route.Name, route.Function) {
				continue
			}
			assert.Equalf(t, templateString(fn.FunctionName), cfg.FunctionName(route.Function),
				"route %q: FUNCTION_PREFIX + function must be the deployed name", route.Name)
			assert.LessOrEqualf(t, templateTimeout(fn, globals), route.FunctionTimeout,
				"route %q: the relay's functionTimeout must cover the function's Timeout", route.Name)
		}
		fn, ok := byName[cfg.Repair.Function]
		require.Truef(t, ok, "the relay's repair function %q is not in template.yaml", cfg.Repair.Function)
		assert.Equal(t, templateString(fn.FunctionName), cfg.FunctionName(cfg.Repair.Function))
		assert.LessOrEqual(t, templateTimeout(fn, globals), cfg.Repair.Timeout,
			"the relay's repair timeout must cover the repair function's Timeout")
	})
}

// loadSAMTemplate parses a SAM template with goformation. Fn::Sub strings stay unresolved (so
// "${AWS::StackName}-users" is compared as written); SAM properties newer than goformation are
// removed before it parses (they stay in samTemplate.raw).
func loadSAMTemplate(t *testing.T, path string) samTemplate {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	keepSub := func(name string, input, template any) any {
		if s, ok := input.(string); ok {
			return s
		}
		return intrinsics.FnSub(name, input, template)
	}
	processed, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Fn::Sub": keepSub},
		ParameterOverrides: map[string]any{
			"MongoDBSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:changerelay-AbCdEf",
		},
	})
	require.NoError(t, err, "intrinsics")

	unresolved, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	require.NoError(t, err)
	var asWritten map[string]any
	require.NoError(t, json.Unmarshal(unresolved, &asWritten))

	var raw map[string]any
	require.NoError(t, json.Unmarshal(processed, &raw))
	resources, _ := raw["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" || props == nil {
			continue
		}
		templateDeleteProperties(props, templateNewerProperties.function)
		events, _ := props["Events"].(map[string]any)
		for _, e := range events {
			event, _ := e.(map[string]any)
			if eventProps, ok := event["Properties"].(map[string]any); ok {
				templateDeleteProperties(eventProps, templateNewerProperties.event)
			}
		}
	}
	stripped, err := json.Marshal(raw)
	require.NoError(t, err)
	tpl, err := goformation.ParseJSONWithOptions(stripped, &intrinsics.ProcessorOptions{NoProcess: true})
	require.NoError(t, err, "goformation")
	return samTemplate{Template: tpl, raw: asWritten}
}

func templateDeleteProperties(props map[string]any, names []string) {
	for _, name := range names {
		delete(props, name)
	}
}

// templateGlobals is Globals.Function, or an empty one.
func templateGlobals(t *testing.T, tpl samTemplate) *serverless.Function {
	t.Helper()
	g, err := tpl.GetServerlessGlobalFunction()
	if err != nil {
		return &serverless.Function{}
	}
	// global.Function and serverless.Function share their JSON shape for these properties.
	data, err := json.Marshal(g)
	require.NoError(t, err)
	var fn struct {
		Runtime       *string
		Handler       *string
		Architectures []string
		Timeout       *int
		Environment   *serverless.Function_FunctionEnvironment
	}
	require.NoError(t, json.Unmarshal(data, &fn))
	return &serverless.Function{Runtime: fn.Runtime, Handler: fn.Handler, Architectures: fn.Architectures,
		Timeout: fn.Timeout, Environment: fn.Environment}
}

// templateLambdaCommands lists the directories of functions/cmd/ whose main imports
// aws-lambda-go/lambda.
func templateLambdaCommands(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err, "functions/cmd/")
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if templateImports(t, filepath.Join(dir, e.Name()), templateLambdaImport) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

func templateImports(t *testing.T, dir, path string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range file.Imports {
			if p, err := strconv.Unquote(imp.Path.Value); err == nil && p == path {
				return true
			}
		}
	}
	return false
}

// templateRepoRoot is the repository root (the tests run in e2e/).
func templateRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.work"))
	require.NoError(t, err, "repository root with go.work")
	return root
}

// templateLogicalID maps a function name to its logical id: users -> UsersFunction.
func templateLogicalID(name string) string {
	return strings.ToUpper(name[:1]) + name[1:] + "Function"
}

func templateLogicalLogGroup(name string) string {
	return strings.ToUpper(name[:1]) + name[1:] + "LogGroup"
}

func templateTimeout(fn, globals *serverless.Function) time.Duration {
	seconds := templateFirst(fn.Timeout, globals.Timeout)
	if seconds == nil {
		return 3 * time.Second // Lambda's default
	}
	return time.Duration(*seconds) * time.Second
}

func templateFirst[T any](values ...*T) *T {
	for _, v := range values {
		if v != nil {
			return v
		}
	}
	return nil
}

func templateString(s *string) string {
	if s == nil {
		return fmt.Sprint(nil)
	}
	return *s
}
