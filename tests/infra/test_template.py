"""infra/template.yaml: cfn-lint clean, the SAM transform succeeds offline, and it agrees with the code."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from handler.settings import LAMBDA_MODEL_LAYER, LOG_LEVELS, Settings
from onnx_lambda.package import DEPENDENCY_LAYER, FUNCTION, MODEL_LAYER
from onnx_lambda.packaging.target import Target

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TEMPLATE = INFRA / "template.yaml"
ON_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "onnx-lambda-test", "LAMBDA_TASK_ROOT": "/var/task"}
FAKE = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "onnx-lambda",
    "OutputBucket": "onnx-lambda-output-test",
    "OutputBucket.Arn": "arn:aws:s3:::onnx-lambda-output-test",
}
EVERYTHING_ON = {
    "PythonRuntime": "python3.13",
    "Architecture": "arm64",
    "SnapStart": "true",
    "ReservedConcurrency": "5",
    "ModelLocation": "s3://my-models/prod/",
    "ModelBucket": "my-models",
    "ApiAuth": "JWT",
    "JwtIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example",
    "JwtAudience": "client-id",
    "CorsAllowOrigins": "https://app.example.com",
    "KinesisStreamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/records",
    "DynamoDBStreamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/items/stream/2026-01-01T00:00:00.000",
    "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:alarms",
}
# Actions IAM accepts only on "*" that read no data; each one is explained where the template uses it.
RESOURCELESS_ACTIONS = {"dynamodb:ListStreams"}


class ManagedPolicies:
    """The SAM translator's policy loader, offline: the template attaches no AWS managed policy."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml_parse(TEMPLATE.read_text())


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}


def resolve(value: Any, names: dict[str, str]) -> str:
    """A Ref or Sub of parameters, pseudo-parameters and the names in FAKE, as a string."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return names[value["Ref"]]
    sub = value["Fn::Sub"]
    text, local = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
    assert not local, f"resolve() handles no Fn::Sub variables: {value}"
    return re.sub(r"\$\{([^}]+)\}", lambda match: names[match.group(1)], text)


def package(template: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` does to the template: local artefact paths become S3 locations."""
    packaged = json.loads(json.dumps(template))
    packaged["Globals"]["Function"]["CodeUri"] = "s3://artefacts/function.zip"
    for resource in packaged["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = "s3://artefacts/layer.zip"
    return packaged


def test_cfn_lint_reports_nothing():
    assert [str(match) for match in lint_file(TEMPLATE)] == []


@pytest.mark.parametrize("parameters", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_sam_transform_succeeds_offline(template, parameters, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    output = transform(package(template), parameters, ManagedPolicies())
    resources = output["Resources"]
    kinds = {resource["Type"] for resource in resources.values()}
    assert {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::Alias"} <= kinds
    mappings = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 3  # SQS, Kinesis, DynamoDB (the last two behind their conditions)
    assert all(mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for mapping in mappings)
    streams = [mapping for mapping in mappings if "StartingPosition" in mapping]
    assert all(stream["BisectBatchOnFunctionError"] is True for stream in streams)
    assert all("OnFailure" in stream["DestinationConfig"] for stream in streams)
    invoke_configs = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert [c["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] for c in invoke_configs] == [
        {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    ]


def test_rendered_template_for_another_target_lints_and_points_beside_itself(tmp_path):
    target = tmp_path / Target("3.13", "arm64").name
    target.mkdir()
    rendered = subprocess.run(
        [str(INFRA / "render-template.sh"), "3.13", "arm64"], check=True, capture_output=True, text=True
    ).stdout
    (target / "template.yaml").write_text(rendered)
    assert [str(match) for match in lint_file(target / "template.yaml")] == []
    document = yaml_parse(rendered)
    assert defaults(document)["PythonRuntime"] == "python3.13"
    assert defaults(document)["Architecture"] == "arm64"
    assert document["Globals"]["Function"]["CodeUri"] == f"./{FUNCTION}"
    layers = [r for r in document["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert sorted(layer["Properties"]["ContentUri"] for layer in layers) == [
        f"./{DEPENDENCY_LAYER}",
        f"./{MODEL_LAYER}",
    ]


def test_render_refuses_an_unknown_architecture():
    result = subprocess.run(
        [str(INFRA / "render-template.sh"), "3.12", "amd64"], check=False, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "amd64" in result.stderr
    assert "x86_64, arm64" in result.stderr


# ---------------------------------------------------------------- the template against the code


def test_every_handler_names_a_real_function(template):
    handlers = {resource["Properties"]["Handler"] for resource in functions(template).values()}
    assert handlers == {"handler.http.lambda_handler", "handler.events.lambda_handler"}
    for name in handlers:
        module, _, attribute = name.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_every_environment_variable_is_one_the_settings_read(template):
    read = set(re.findall(r'"(ONNX_LAMBDA_[A-Z0-9_]+)"', (ROOT / "handler" / "settings.py").read_text()))
    variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in functions(template).values():
        variables |= set(resource["Properties"].get("Environment", {}).get("Variables", {}))
    assert variables - read == set()
    assert {"ONNX_LAMBDA_MODELS", "ONNX_LAMBDA_MODEL_SHA256", "ONNX_LAMBDA_LOG_LEVEL"} <= variables


def test_parameter_defaults_are_the_settings_defaults_on_lambda(template):
    """Deploying with every default configures the function exactly as leaving the variables unset."""
    names = {**FAKE, **defaults(template)}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    environ = {name: resolve(value, names) for name, value in variables.items()}
    assert Settings.from_env({**ON_LAMBDA, **environ}) == Settings.from_env(ON_LAMBDA)
    assert defaults(template)["ModelLocation"] == LAMBDA_MODEL_LAYER
    assert tuple(template["Parameters"]["LogLevel"]["AllowedValues"]) == LOG_LEVELS


def test_each_destination_parses_and_its_role_may_write_there(template):
    names = {**FAKE, **defaults(template)}
    checked = []
    for name, resource in functions(template).items():
        value = (
            resource["Properties"].get("Environment", {}).get("Variables", {}).get("ONNX_LAMBDA_DESTINATION")
        )
        if value is None:
            continue
        destination = Settings.from_env({"ONNX_LAMBDA_DESTINATION": resolve(value, names)}).destination
        assert destination.kind == "s3"
        assert destination.target == FAKE["OutputBucket"]
        key = f"arn:aws:s3:::{destination.target}/{destination.prefix}/2026/12/04/batch.jsonl"
        role = template["Resources"][resource["Properties"]["Role"]["Fn::GetAtt"][0]]
        writable = [
            resolve(statement["Resource"], names)
            for policy in role["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            if "s3:PutObject" in statement["Action"]
        ]
        assert any(fnmatch.fnmatchcase(key, pattern) for pattern in writable), (name, key, writable)
        checked.append(name)
    assert sorted(checked) == ["DynamoDBFunction", "KinesisFunction", "S3Function", "SqsFunction"]


def test_artefact_paths_are_what_onnx_lambda_package_builds_for_the_default_target(template):
    parameters = defaults(template)
    target = Target(parameters["PythonRuntime"].removeprefix("python"), parameters["Architecture"])
    build = ROOT / "build" / target.name
    layers = {
        name: (INFRA / resource["Properties"]["ContentUri"]).resolve()
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    assert layers == {"DependencyLayer": build / DEPENDENCY_LAYER, "ModelLayer": build / MODEL_LAYER}
    assert (INFRA / template["Globals"]["Function"]["CodeUri"]).resolve() == build / FUNCTION
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "DependencyLayer"}, {"Ref": "ModelLayer"}]


def test_built_artefacts_unpack_where_the_settings_look(template):
    """After `make layers`: the model layer unpacks under /opt/models, the code zip holds handler/."""
    build = (INFRA / template["Globals"]["Function"]["CodeUri"]).resolve().parent
    if not (build / MODEL_LAYER).exists():
        pytest.skip(f"no artefacts in {build.relative_to(ROOT)}; `make layers` builds them")
    with zipfile.ZipFile(build / MODEL_LAYER) as archive:
        models = [name for name in archive.namelist() if name.endswith(".onnx")]
    assert models
    assert all(f"/opt/{name}".startswith(LAMBDA_MODEL_LAYER + "/") for name in models)
    with zipfile.ZipFile(build / FUNCTION) as archive:
        assert "handler/__init__.py" in archive.namelist()
        assert {name.split("/")[0] for name in archive.namelist()} == {"handler"}
    with zipfile.ZipFile(build / DEPENDENCY_LAYER) as archive:
        assert any(name.startswith("python/onnxruntime/") for name in archive.namelist())


# ---------------------------------------------------------------- least privilege


def policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents = [properties["PolicyDocument"]]
        else:
            continue
        found += [(name, statement) for document in documents for statement in document["Statement"]]
    return found


def test_no_allowed_action_has_a_wildcard_resource_or_action(template, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    output = transform(package(template), EVERYTHING_ON, ManagedPolicies())
    statements = policy_statements(output)
    assert {name for name, _ in statements} == {
        "HttpRole",
        "SqsRole",
        "S3Role",
        "KinesisRole",
        "DynamoDBRole",
        "ModelReadPolicy",
    }
    for role, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        assert statement["Effect"] == "Allow"
        assert not any("*" in action for action in actions), (role, actions)
        if "*" in resources:
            assert set(actions) <= RESOURCELESS_ACTIONS, (role, actions)


def test_no_role_gets_an_aws_managed_policy(template, monkeypatch):
    """SAM adds AWS managed policies (with "*" resources) to roles it creates; every role here is ours."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    output = transform(package(template), EVERYTHING_ON, ManagedPolicies())
    roles = {name for name, r in output["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert roles == {"HttpRole", "SqsRole", "S3Role", "KinesisRole", "DynamoDBRole"}
    for name in roles:
        attached = json.dumps(output["Resources"][name]["Properties"].get("ManagedPolicyArns", []))
        assert "arn:aws:iam::aws:policy" not in attached, name


def test_every_function_logs_to_its_own_group_with_retention(template):
    for name, resource in functions(template).items():
        group = template["Resources"][resource["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert group.get("Condition") == resource.get("Condition"), name


def test_every_function_has_error_and_throttle_alarms(template):
    alarmed = {
        (resource["Properties"]["Dimensions"][0]["Value"]["Ref"], resource["Properties"]["MetricName"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"]["Namespace"] == "AWS/Lambda"
    }
    assert alarmed == {(name, metric) for name in functions(template) for metric in ("Errors", "Throttles")}
    queues = {
        resource["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"]["Namespace"] == "AWS/SQS"
    }
    assert queues == {"ScoringDeadLetterQueue", "FailedEventsQueue"}


# ---------------------------------------------------------------- documentation and examples


def allowed(spec: dict[str, Any], value: str) -> bool:
    if "AllowedValues" in spec and value not in [str(choice) for choice in spec["AllowedValues"]]:
        return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        return False
    if spec["Type"] == "Number":
        number = float(value)
        return spec.get("MinValue", number) <= number <= spec.get("MaxValue", number)
    return True


def test_every_parameter_default_passes_its_own_constraints(template):
    for name, spec in template["Parameters"].items():
        if spec.get("Default", "") != "":
            assert allowed(spec, str(spec["Default"])), name


def test_samconfig_example_overrides_only_real_parameters_with_allowed_values(template):
    config = tomllib.loads((INFRA / "samconfig.example.toml").read_text())
    deploy = config["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    for override in deploy["parameter_overrides"]:
        name, _, value = override.partition("=")
        assert name in template["Parameters"], override
        assert allowed(template["Parameters"][name], value), override


def test_readme_deploy_table_lists_every_parameter(template):
    readme = (ROOT / "README.md").read_text()
    deploy = readme[readme.index("## Deploy") :]
    deploy = deploy[: deploy.index("\n## ", 1)] if "\n## " in deploy[1:] else deploy
    missing = [name for name in template["Parameters"] if f"`{name}`" not in deploy]
    assert missing == []


# ---------------------------------------------------------------- rules and conditions


def evaluate(node: Any, parameters: dict[str, Any], conditions: dict[str, Any]) -> Any:
    """The intrinsic functions Rules and Conditions use here, evaluated for given parameters."""
    if not isinstance(node, dict):
        return node
    [(function, args)] = node.items()
    if function == "Ref":
        return parameters[args]
    if function == "Condition":
        return evaluate(conditions[args], parameters, conditions)
    values = [evaluate(arg, parameters, conditions) for arg in args]
    if function == "Fn::Equals":
        return str(values[0]) == str(values[1])
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    if function == "Fn::Contains":
        return str(values[1]) in [str(value) for value in values[0]]
    if function == "Fn::Join":
        return values[0].join(values[1])
    raise AssertionError(f"evaluate() does not know {function}")


def parameter_values(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    values: dict[str, Any] = {**defaults(template), **overrides}
    for name, spec in template["Parameters"].items():
        if spec["Type"] == "CommaDelimitedList":
            values[name] = values[name].split(",")
    return values


def refusals(template: dict[str, Any], **overrides: str) -> list[str]:
    """The AssertDescriptions CloudFormation would refuse the stack with."""
    values = parameter_values(template, **overrides)
    refused = []
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values, {}):
            continue
        refused += [
            a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], values, {})
        ]
    return refused


def test_defaults_and_everything_on_pass_the_rules(template):
    assert refusals(template) == []
    assert refusals(template, **EVERYTHING_ON) == []


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"SnapStart": "true", "PythonRuntime": "python3.11"}, "SnapStart for Python needs python3.12"),
        ({"SnapStart": "true", "ProvisionedConcurrency": "2"}, "does not combine SnapStart with provisioned"),
        ({"ApiAuth": "JWT", "JwtAudience": "client-id"}, "ApiAuth=JWT needs JwtIssuer"),
        ({"ApiAuth": "JWT", "JwtIssuer": "https://issuer.example.com"}, "ApiAuth=JWT needs JwtAudience"),
        ({"SqsBatchSize": "100"}, "needs SqsBatchingWindow"),
    ],
    ids=[
        "snapstart-on-3.11",
        "snapstart-and-provisioned",
        "jwt-no-issuer",
        "jwt-no-audience",
        "sqs-100-no-window",
    ],
)
def test_rules_refuse_combinations_lambda_would_reject(template, overrides, refusal):
    [message] = refusals(template, **overrides)
    assert refusal in message


@pytest.mark.parametrize(
    ("runtime", "switch", "applied"),
    [("python3.12", "true", True), ("python3.13", "true", True), ("python3.12", "false", False)],
)
def test_snapstart_applies_only_when_asked_on_a_runtime_that_has_it(template, runtime, switch, applied):
    values = parameter_values(template, PythonRuntime=runtime, SnapStart=switch)
    conditions = template["Conditions"]
    assert evaluate(conditions["UseSnapStart"], values, conditions) is applied
    assert refusals(template, PythonRuntime=runtime, SnapStart=switch) == []


def test_optional_functions_exist_only_with_their_streams(template):
    conditions = template["Conditions"]
    off, on = parameter_values(template), parameter_values(template, **EVERYTHING_ON)
    for name in ("HasKinesis", "HasDynamoDBStream", "UseJwt", "HasCors", "HasModelBucket"):
        assert evaluate(conditions[name], off, conditions) is False, name
        assert evaluate(conditions[name], on, conditions) is True, name
    assert {
        functions(template)[name].get("Condition") for name in ("KinesisFunction", "DynamoDBFunction")
    } == {
        "HasKinesis",
        "HasDynamoDBStream",
    }
