"""Keeps docs/openapi.yaml a valid OpenAPI 3.1 document of exactly the deployed routes.

    openapi_check.py [OPENAPI [ROUTES]]   exit 1 unless OPENAPI (docs/openapi.yaml) is valid
                                          OpenAPI 3.1 and its operations are ROUTES's
                                          (routes.toml) routes, one each
    openapi_check.py --self-test          prove the check fails on broken copies of both

routes.toml is the one place a route is declared. The document must have one operation
(method, path) per route, its operationId the route's function, and no other operation.
The CORS preflight catch-all (`OPTIONS /{proxy+}`) is the one route that is not an
operation: it answers browsers for every path. Links must name existing operations and
their parameters, so Schemathesis's stateful runs (scripts/schemathesis) follow real edges.
"""

import copy
import sys
import tomllib

import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
NOT_AN_OPERATION = {("OPTIONS", "/{proxy+}")}


def routes(table):
    """{(METHOD, path): function} of routes.toml, the preflight catch-all left out."""
    found = {}
    for route in table["route"]:
        method, path = route["route"].split(" ", 1)
        key = (method.upper(), path)
        if key in found:
            raise SystemExit(f"routes.toml declares {method} {path} twice")
        if key not in NOT_AN_OPERATION:
            found[key] = route["function"]
    return found


def operations(doc):
    """{(METHOD, path): operation} of the document."""
    return {
        (method.upper(), path): operation
        for path, item in (doc.get("paths") or {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def parameter_names(doc, operation, path_item, where=None):
    names = set()
    for parameter in (path_item.get("parameters") or []) + (operation.get("parameters") or []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if where is None or parameter.get("in") == where:
            names.add(parameter["name"])
    return names


def problems(doc, table):
    """Every way the document fails OpenAPI 3.1 or routes.toml, as sentences."""
    found = [
        f"not valid OpenAPI 3.1: {error.message} (at {'/'.join(str(p) for p in error.path) or '/'})"
        for error in OpenAPIV31SpecValidator(doc).iter_errors()
    ]
    if found:
        return found  # what follows reads the document's structure
    if not str(doc.get("openapi", "")).startswith("3.1."):
        found.append(f"openapi is {doc.get('openapi')!r}, not 3.1.x")
    declared = routes(table)
    documented = operations(doc)
    for key in sorted(declared.keys() - documented.keys()):
        found.append(f"missing operation: {' '.join(key)} (function {declared[key]} in routes.toml)")
    for key in sorted(documented.keys() - declared.keys()):
        found.append(f"operation without a route: {' '.join(key)} "
                     f"(operationId {documented[key].get('operationId')!r}; not in routes.toml)")
    for key in sorted(declared.keys() & documented.keys()):
        operation_id = documented[key].get("operationId")
        if operation_id != declared[key]:
            found.append(f"wrong operationId: {' '.join(key)} is {operation_id!r}, "
                         f"routes.toml's function is {declared[key]!r}")
    # Every route refuses a query parameter it does not declare (400), so every operation
    # documents a 400.
    for key, operation in sorted(documented.items()):
        if "400" not in (operation.get("responses") or {}):
            found.append(f"{' '.join(key)} does not document 400 (an unknown query parameter)")
    query = {route["function"]: set(route.get("query") or []) for route in table["route"]}
    for key in sorted(declared.keys() & documented.keys()):
        operation = documented[key]
        names = parameter_names(doc, operation, doc["paths"][key[1]], "query")
        mine = query[declared[key]]
        if names != mine:
            found.append(f"query parameters of {' '.join(key)}: the document has {sorted(names)}, "
                         f"routes.toml's query has {sorted(mine)}")
    by_id = {
        operation.get("operationId"): (operation, doc["paths"][path])
        for (_, path), operation in documented.items()
    }
    for (method, path), operation in sorted(documented.items()):
        for status, response in (operation.get("responses") or {}).items():
            for name, link in (response.get("links") or {}).items():
                where = f"{method} {path} {status} link {name}"
                target = by_id.get(link.get("operationId"))
                if target is None:
                    found.append(f"{where}: no operation {link.get('operationId')!r}")
                    continue
                known = parameter_names(doc, *target)
                for parameter in sorted(set(link.get("parameters") or {}) - known):
                    found.append(f"{where}: {link['operationId']} has no parameter {parameter!r}")
    return found


def self_test(doc, table):
    """Each broken copy must add the problem it was broken for."""
    base = set(problems(doc, table))

    def expect(what, broken_doc, broken_table, needle):
        new = [p for p in problems(broken_doc, broken_table) if p not in base]
        assert any(needle in p for p in new), f"{what}: expected a problem with {needle!r}, got {new}"

    removed = copy.deepcopy(doc)
    del removed["paths"]["/v1/brands/{brandId}"]["delete"]
    expect("an operation removed", removed, table, "missing operation: DELETE /v1/brands/{brandId}")

    extra = copy.deepcopy(doc)
    extra["paths"]["/v1/brands/{brandId}"]["put"] = copy.deepcopy(
        extra["paths"]["/v1/brands/{brandId}"]["patch"])
    extra["paths"]["/v1/brands/{brandId}"]["put"]["operationId"] = "brands-replace"
    expect("an extra operation", extra, table, "operation without a route: PUT /v1/brands/{brandId}")

    renamed = copy.deepcopy(doc)
    renamed["paths"]["/v1/health"]["get"]["operationId"] = "health-check"
    expect("a wrong operationId", renamed, table, "wrong operationId: GET /v1/health")

    more_routes = copy.deepcopy(table)
    more_routes["route"].append({"function": "brands-archive", "route": "POST /v1/brands/{brandId}/archive"})
    expect("a route the document lacks", doc, more_routes, "missing operation: POST /v1/brands/{brandId}/archive")

    fewer = copy.deepcopy(table)
    for route in fewer["route"]:
        if route["function"] == "tickets-list":
            route["query"] = [q for q in route["query"] if q != "source"]
    expect("a query parameter routes.toml does not declare", doc, fewer,
           "query parameters of GET /v1/brands/{brandId}/tickets")

    no_400 = copy.deepcopy(doc)
    del no_400["paths"]["/v1/brands/{brandId}"]["get"]["responses"]["400"]
    expect("an operation without a 400", no_400, table, "GET /v1/brands/{brandId} does not document 400")

    invalid = copy.deepcopy(doc)
    del invalid["paths"]["/v1/health"]["get"]["responses"]["200"]["description"]
    expect("an invalid document", invalid, table, "not valid OpenAPI 3.1")

    dangling = copy.deepcopy(doc)
    link = dangling["paths"]["/v1/brands"]["post"]["responses"]["201"]["links"]["GetBrand"]
    link["operationId"] = "brands-fetch"
    expect("a link to nowhere", dangling, table, "no operation 'brands-fetch'")

    # The preflight catch-all is a route but not an operation, either way round.
    preflight = copy.deepcopy(doc)
    preflight["paths"]["/{proxy+}"] = {"options": {
        "operationId": "cors-preflight",
        "parameters": [{"name": "proxy+", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"204": {"description": "Preflight answered."}},
    }}
    expect("the preflight as an operation", preflight, table, "operation without a route: OPTIONS /{proxy+}")
    print("openapi_check: self-test passed (a removed, extra or misnamed operation, a new route, "
          "a query parameter the route does not read, a missing 400, an invalid document and a dangling link all fail)")


def main(argv):
    args = argv[1:]
    test = args[:1] == ["--self-test"]
    if test:
        args = args[1:]
    openapi_path = args[0] if args else "docs/openapi.yaml"
    routes_path = args[1] if len(args) > 1 else "routes.toml"
    with open(openapi_path) as f:
        doc = yaml.safe_load(f)
    with open(routes_path, "rb") as f:
        table = tomllib.load(f)
    if test:
        self_test(doc, table)
        return 0
    found = problems(doc, table)
    if found:
        for problem in found:
            print(f"{openapi_path}: {problem}", file=sys.stderr)
        print(f"{openapi_path} must document exactly the routes of {routes_path} (minus "
              "OPTIONS /{proxy+}), each operationId the route's function", file=sys.stderr)
        return 1
    print(f"openapi: {openapi_path} is valid OpenAPI 3.1 and documents the "
          f"{len(operations(doc))} routes of {routes_path} (OPTIONS /{{proxy+}} aside)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
