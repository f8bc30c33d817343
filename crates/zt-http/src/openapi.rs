//! The OpenAPI 3.1 document of the API, built from one table of routes. It is served at
//! `/v1/openapi.json` and kept in the repository as `docs/openapi.json`; a test fails when
//! the two differ, and another when a route in the table is not mounted.

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use crate::error::ERROR_CODES;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credentials (the document itself).
    Public,
    /// Any authenticated agent.
    Agent,
    /// Admins and super-admins only.
    Approver,
}

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: &'static str,
    /// The path, with `{parameters}`.
    pub path: &'static str,
    /// The operation id.
    pub operation: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The request body's schema, if it takes one.
    pub request: Option<&'static str>,
    /// The success status.
    pub status: u16,
    /// The response body's schema (`None`: no body).
    pub response: Option<&'static str>,
    /// Query parameters, all optional.
    pub query: &'static [QueryParam],
    /// Whether it is rate limited per caller (429 with `Retry-After`).
    pub limited: bool,
}

/// An optional query parameter of a route.
#[derive(Clone, Copy, Debug)]
pub struct QueryParam {
    /// Its name.
    pub name: &'static str,
    /// The values the server accepts.
    pub value: ParamValue,
    /// What it means.
    pub description: &'static str,
}

/// The values a parameter takes, as the server parses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// A 32-bit unsigned integer (page sizes, line numbers).
    U32,
    /// A 64-bit unsigned integer (sequence numbers).
    U64,
    /// An agent id.
    AgentId,
    /// Up to 100 agent ids, comma-separated (none: the empty string).
    AgentIds,
    /// Any text.
    Text,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

const fn param(name: &'static str, value: ParamValue, description: &'static str) -> QueryParam {
    QueryParam {
        name,
        value,
        description,
    }
}

const fn route(
    method: &'static str,
    path: &'static str,
    operation: &'static str,
    summary: &'static str,
    access: Access,
) -> Route {
    Route {
        method,
        path,
        operation,
        summary,
        access,
        request: None,
        status: 200,
        response: None,
        query: &[],
        limited: false,
    }
}

const fn statement(
    path: &'static str,
    operation: &'static str,
    summary: &'static str,
    access: Access,
    limited: bool,
) -> Route {
    Route {
        request: Some("EntryBody"),
        status: 201,
        response: Some("Accepted"),
        limited,
        ..route("POST", path, operation, summary, access)
    }
}

const PAGE: QueryParam = param(
    "limit",
    ParamValue::U32,
    "page size (default 100); values outside 1 to 1000 are taken as the nearest bound",
);

const ROLES: [&str; 4] = ["member", "admin", "super-admin", "removed"];
const STATES: [&str; 5] = ["not-set-up", "pending", "active", "revoked", "reset"];

/// Every route, in the order the document lists them.
pub const ROUTES: &[Route] = &[
    Route {
        response: Some("OrgInfo"),
        ..route("GET", "/v1/org", "getOrg", "The organization, its head (where the next statement goes), its trust root and the caller.", Access::Agent)
    },
    Route {
        response: Some("LogPage"),
        query: &[param("from", ParamValue::U64, "first sequence number (default 0)"), PAGE],
        ..route("GET", "/v1/log", "getLog", "Encoded log entries from a sequence number, up to the verified head: what devices and auditors sync and verify themselves (spec §5).", Access::Agent)
    },
    Route {
        response: Some("MyKey"),
        ..route("GET", "/v1/keys/me", "getMyKey", "The caller's zero trust status and active key record, with the KDF parameters and salt their client derives it with.", Access::Agent)
    },
    Route {
        response: Some("DirectoryPage"),
        query: &[
            param("email", ParamValue::Text, "the account to look up (give either this or ids)"),
            param("ids", ParamValue::AgentIds, "up to 100 agent ids, comma-separated (give either this or email)"),
        ],
        ..route("GET", "/v1/agents", "findAgents", "Agents by account, from the host's directory: by e-mail, or the e-mails of up to 100 agent ids. Empty when the host keeps no directory.", Access::Agent)
    },
    statement("/v1/keys/first", "createFirstKey", "The epoch's first key, self-signed: active at once (spec §6.4). Warns when the creator is not an admin.", Access::Agent, false),
    statement("/v1/keys/requests", "requestKey", "A key request: pending until an approver approves it after comparing the verification code (spec §6.5).", Access::Agent, true),
    statement("/v1/keys/change", "changeKey", "A new key signed by the caller's active key: active at once, the old one revoked (spec §6.7).", Access::Agent, false),
    statement("/v1/keys/revoke", "revokeKey", "Revokes the caller's key, or (approvers) another agent's; the last approver's key only when forced (spec §6.8).", Access::Agent, false),
    Route {
        response: Some("PendingPage"),
        query: &[param("after", ParamValue::U64, "sequence number of the last request of the previous page"), PAGE],
        ..route("GET", "/v1/requests", "listRequests", "Pending key requests, oldest first.", Access::Approver)
    },
    Route {
        response: Some("RequestDetail"),
        ..route("GET", "/v1/requests/{request}", "getRequest", "A pending request and its signed entry, from which the approver's client computes the verification code (approvers, or the requester).", Access::Agent)
    },
    statement("/v1/requests/{request}/approve", "approveRequest", "An approval signed by the approver's active key after the codes matched (spec §6.6).", Access::Approver, true),
    statement("/v1/requests/{request}/reject", "rejectRequest", "A rejection (spec §6.6).", Access::Approver, true),
    statement("/v1/requests/{request}/wrong-code", "reportWrongCode", "The approver's report that the requester's code did not match; five lock the request (spec §7.3).", Access::Approver, true),
    statement("/v1/recovery", "registerRecovery", "Registers a new recovery file's public keys; any earlier file stops working (spec §6.9).", Access::Agent, false),
    statement("/v1/recovery/reset", "recoveryReset", "A new key signed by the recovery key: active at once without approval, the file spent (spec §6.9).", Access::Agent, true),
    Route {
        response: Some("StatusPage"),
        query: &[
            param("state", ParamValue::OneOf(&STATES), "only agents in this zero trust state"),
            param("role", ParamValue::OneOf(&ROLES), "only agents with this role"),
            param("after", ParamValue::AgentId, "agent id of the last row of the previous page"),
            PAGE,
        ],
        ..route("GET", "/v1/status", "getStatusPage", "The organization's zero trust status page, by agent id.", Access::Approver)
    },
    Route {
        response: Some("HistoryPage"),
        query: &[
            param("agent", ParamValue::AgentId, "only this agent's keys (members may only ask for their own)"),
            param("after_seq", ParamValue::U64, "from the previous page's next"),
            param("after_line", ParamValue::U32, "from the previous page's next"),
            PAGE,
        ],
        ..route("GET", "/v1/history", "getHistory", "Key history: key owner, actor, action and reason, oldest first.", Access::Agent)
    },
    Route {
        method: "PUT",
        ..statement("/v1/policy/prompt", "setPromptPolicy", "Which prompt frequencies (each task, day, week) agents may choose (spec §6.11).", Access::Approver, false)
    },
    Route {
        request: Some("VerifyTask"),
        response: Some("TaskAccepted"),
        limited: true,
        ..route("POST", "/v1/tasks/verify", "verifyTask", "Verifies a task authorization for a task (spec §9.4) and spends its replay key (in the store, or, for a store's one verifier, in memory behind a durable horizon: spec §9.5): an accepted authorization is spent, and refused if presented again, also after a restart.", Access::Agent)
    },
    Route {
        request: Some("SessionBody"),
        status: 201,
        response: Some("SessionStarted"),
        ..route("POST", "/v1/sessions", "startSession", "Starts the caller's prompt-frequency session: a delegation by their active key to a session key (spec §9.2).", Access::Agent)
    },
    Route {
        status: 204,
        ..route("DELETE", "/v1/sessions/{session_key}", "endSession", "Ends the caller's session (log out): its tasks are refused from now on.", Access::Agent)
    },
    Route {
        response: Some("OpenApi"),
        ..route("GET", "/v1/openapi.json", "getOpenApi", "This document.", Access::Public)
    },
];

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

const ID_PATTERN: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

fn param_schema(value: ParamValue) -> Value {
    match value {
        ParamValue::U32 => json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }),
        ParamValue::U64 => json!({ "type": "integer", "minimum": 0, "maximum": u64::MAX }),
        ParamValue::AgentId => schema_ref("AgentId"),
        ParamValue::AgentIds => json!({
            "type": "string",
            "pattern": format!("^({ID_PATTERN}(,{ID_PATTERN}){{0,99}})?$"),
        }),
        ParamValue::Text => json!({ "type": "string" }),
        ParamValue::OneOf(words) => json!({ "enum": words }),
    }
}

/// The `{names}` in a route's path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
}

/// The schema of a path parameter, by its name.
fn path_schema(name: &str) -> Value {
    match name {
        "request" => id("request id"),
        "session_key" => hex(32, "the session's Ed25519 key"),
        _ => json!({ "type": "string" }),
    }
}

fn hex(bytes: usize, what: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^[0-9a-f]{{{}}}$", bytes * 2), "description": what })
}

fn id(what: &str) -> Value {
    json!({ "type": "string", "pattern": format!("^{ID_PATTERN}$"), "description": what })
}

fn base64(what: &str) -> Value {
    json!({ "type": "string", "contentEncoding": "base64", "description": what })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// A request body: the server refuses fields it does not know (422).
fn strict_object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties, "additionalProperties": false })
}

fn schemas() -> Value {
    let head = object(
        &["org", "epoch", "next_seq", "prev"],
        json!({
            "org": schema_ref("OrgId"), "epoch": { "type": "integer" },
            "next_seq": { "type": "integer" }, "prev": hex(32, "hash of the last entry"),
        }),
    );
    let status = object(
        &["agent", "role", "state", "has_recovery_file"],
        json!({
            "agent": schema_ref("AgentId"), "role": schema_ref("Role"),
            "state": { "enum": STATES },
            "active_key": { "type": ["string", "null"] }, "active_since": { "type": ["integer", "null"] },
            "approved_by": { "type": ["string", "null"] }, "pending_request": { "type": ["string", "null"] },
            "has_recovery_file": { "type": "boolean" },
        }),
    );
    let pending = object(
        &[
            "request",
            "agent",
            "key",
            "seq",
            "time",
            "mismatches",
            "locked",
        ],
        json!({
            "request": id("request id"), "agent": schema_ref("AgentId"), "key": hex(32, "key id"),
            "seq": { "type": "integer" }, "time": { "type": "integer" },
            "mismatches": { "type": "integer" }, "locked": { "type": "boolean" },
        }),
    );
    let history = object(
        &["seq", "time", "actor", "action", "reason", "line"],
        json!({
            "seq": { "type": "integer" }, "time": { "type": "integer" }, "line": { "type": "integer" },
            "key": { "type": ["string", "null"] }, "owner": { "type": ["string", "null"] },
            "actor": { "type": "object", "properties": { "kind": { "enum": ["agent", "host"] }, "agent": schema_ref("AgentId") } },
            "action": { "type": "string" }, "reason": { "type": "string" },
        }),
    );
    let page = |item: &str, next: Value| {
        object(
            &["items"],
            json!({ "items": { "type": "array", "items": schema_ref(item) }, "next": next }),
        )
    };
    json!({
        "OrgId": id("organization id"),
        "AgentId": id("agent id"),
        "Role": { "enum": ROLES },
        "Frequency": { "enum": ["each-task", "day", "week"] },
        "Head": head,
        "Error": object(&["code", "message"], json!({
            "code": { "enum": ERROR_CODES },
            "message": { "type": "string" },
            "head": schema_ref("Head"),
        })),
        "EntryBody": strict_object(&["entry"], json!({ "entry": base64("the signed entry's canonical encoding (spec §4)") })),
        "Accepted": object(&["seq", "hash", "head", "warnings"], json!({
            "seq": { "type": "integer" }, "hash": hex(32, "the entry's hash"), "head": schema_ref("Head"),
            "warnings": { "type": "array", "items": { "enum": ["first_key_creator_cannot_approve"] } },
        })),
        "OrgInfo": object(&["org", "epoch", "head", "host_key", "prompt_policy", "has_active_key", "caller"], json!({
            "org": schema_ref("OrgId"), "epoch": { "type": "integer" }, "head": schema_ref("Head"),
            "root": { "type": ["string", "null"], "description": "zt-root-v1:<org>:<epoch>:<hash> (spec §5.1)" },
            "host_key": hex(32, "the host's Ed25519 key"),
            "prompt_policy": { "type": "array", "items": schema_ref("Frequency") },
            "has_active_key": { "type": "boolean" },
            "caller": object(&["agent", "role"], json!({ "agent": schema_ref("AgentId"), "role": schema_ref("Role") })),
        })),
        "LogPage": object(&["entries", "head"], json!({
            "entries": { "type": "array", "items": base64("an encoded entry") },
            "next": { "type": ["integer", "null"] }, "head": schema_ref("Head"),
        })),
        "AgentStatus": status,
        "MyKey": object(&["status"], json!({
            "status": schema_ref("AgentStatus"),
            "active": { "oneOf": [{ "type": "null" }, object(&["key", "record", "registered_seq", "sealed_access", "changed_seq"], json!({
                "key": hex(32, "key id"),
                "record": object(&["signing", "exchange", "kdf", "salt"], json!({
                    "signing": hex(32, "Ed25519 public key"), "exchange": hex(32, "X25519 public key"),
                    "kdf": object(&["memory_kib", "passes", "lanes"], json!({
                        "memory_kib": { "type": "integer", "minimum": 65536, "maximum": 1048576 },
                        "passes": { "type": "integer" }, "lanes": { "type": "integer" },
                    })),
                    "salt": hex(16, "Argon2id salt"),
                })),
                "registered_seq": { "type": "integer" }, "changed_seq": { "type": "integer" },
                "sealed_access": hex(80, "the access secret sealed to this key (spec §3.7)"),
            }))] },
            "recovery": { "oneOf": [{ "type": "null" }, object(&["registration", "seq", "time", "sealed_access"], json!({
                "registration": id("recovery registration id, as the recovery file names it"),
                "seq": { "type": "integer", "description": "the registering entry" }, "time": { "type": "integer" },
                "sealed_access": hex(80, "the access secret sealed to the recovery key (spec §3.7)"),
            }))] },
        })),
        "PendingRequest": pending,
        "DirectoryEntry": object(&["agent", "email"], json!({ "agent": schema_ref("AgentId"), "email": { "type": "string" } })),
        "DirectoryPage": page("DirectoryEntry", json!({ "type": "null" })),
        "PendingPage": page("PendingRequest", json!({ "type": ["integer", "null"] })),
        "RequestDetail": object(&["request", "entry"], json!({
            "request": schema_ref("PendingRequest"), "entry": base64("the request's encoded entry"),
        })),
        "StatusPage": page("AgentStatus", json!({ "type": ["string", "null"] })),
        "HistoryLine": history,
        "HistoryPage": page("HistoryLine", json!({ "oneOf": [{ "type": "null" }, object(&["after_seq", "after_line"], json!({
            "after_seq": { "type": "integer" }, "after_line": { "type": "integer" },
        }))] })),
        "VerifyTask": strict_object(&["authorization", "kind", "payload_digest"], json!({
            "authorization": base64("the task authorization's canonical encoding (spec §9.1)"),
            "kind": { "type": "string", "pattern": "^[a-z0-9._-]{1,64}$" },
            "payload_digest": hex(32, "H(\"zt-v1/task-payload\", payload) (spec §9.1)"),
        })),
        "TaskAccepted": object(&["agent", "key", "expires_at", "frequency"], json!({
            "agent": schema_ref("AgentId"), "key": hex(32, "key id"),
            "expires_at": { "type": "integer" }, "frequency": schema_ref("Frequency"),
        })),
        "SessionBody": strict_object(&["delegation"], json!({ "delegation": base64("the session delegation's canonical encoding (spec §9.2)") })),
        "SessionStarted": object(&["session_key", "expires_at", "frequency"], json!({
            "session_key": hex(32, "the session's Ed25519 key"),
            "expires_at": { "type": "integer" }, "frequency": schema_ref("Frequency"),
        })),
        "OpenApi": { "type": "object" },
    })
}

fn operation(route: &Route) -> Value {
    let mut responses = Map::new();
    let success = match route.response {
        Some(schema) => {
            json!({ "description": "success", "content": { "application/json": { "schema": schema_ref(schema) } } })
        }
        None => json!({ "description": "success" }),
    };
    responses.insert(route.status.to_string(), success);
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": schema_ref("Error") } } });
    if route.access != Access::Public {
        responses.insert("400".into(), error("malformed input"));
        responses.insert("401".into(), error("missing or invalid credentials"));
        responses.insert(
            "403".into(),
            error("refused: role, ownership or a rule of spec §6"),
        );
        responses.insert(
            "404".into(),
            error("unknown organization, request or endpoint"),
        );
        responses.insert(
            "409".into(),
            error("conflict with the log: sign again at the returned head, or a rule of spec §6"),
        );
        responses.insert("413".into(), error("body over 64 KiB"));
        if route.request.is_some() {
            responses.insert(
                "415".into(),
                error("the body is not sent as `application/json`"),
            );
            responses.insert(
                "422".into(),
                error("JSON of the wrong shape: a missing, unknown or mistyped field"),
            );
        }
        responses.insert(
            "503".into(),
            json!({
                "description": "storage unavailable, or timeout",
                "headers": { "Retry-After": {
                    "description": "with `timeout`: seconds to wait before trying again",
                    "schema": { "type": "integer" },
                } },
                "content": { "application/json": { "schema": schema_ref("Error") } },
            }),
        );
    }
    if route.limited {
        responses.insert(
            "429".into(),
            json!({
                "description": "rate limited",
                "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                "content": { "application/json": { "schema": schema_ref("Error") } },
            }),
        );
    }
    let mut parameters: Vec<Value> = path_parameters(route.path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": path_schema(name) }))
        .collect();
    parameters.extend(route.query.iter().map(|query| {
        json!({ "name": query.name, "in": "query", "required": false, "description": query.description, "schema": param_schema(query.value) })
    }));
    let mut operation = json!({
        "operationId": route.operation,
        "summary": route.summary,
        "responses": responses,
    });
    if let Some(object) = operation.as_object_mut() {
        if !parameters.is_empty() {
            object.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(schema) = route.request {
            object.insert(
                "requestBody".into(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": schema_ref(schema) } },
                }),
            );
        }
        match route.access {
            Access::Public => {
                object.insert("security".into(), json!([]));
            }
            Access::Approver => {
                object.insert("x-zt-access".into(), json!("admin or super-admin"));
            }
            Access::Agent => {}
        }
    }
    operation
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(methods) = entry.as_object_mut() {
            methods.insert(route.method.to_ascii_lowercase(), operation(route));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "zt",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Zero-trust signature keys. Signed bytes travel as base64 of their canonical encoding (docs/spec). Errors are {code, message}; every client mistake is a 4xx.",
        },
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "host": { "type": "http", "scheme": "bearer", "description": "whatever the host's Authenticator accepts; zt-server issues API tokens" } },
        },
        "security": [{ "host": [] }],
        "paths": paths,
    })
}

/// The document as served and as kept in `docs/openapi.json`: pretty JSON, one newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

/// `GET /v1/openapi.json`.
pub(crate) async fn serve() -> impl IntoResponse {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    (
        [(header::CONTENT_TYPE, "application/json")],
        TEXT.get_or_init(document_text).as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path parameter added without its own schema would be documented as any string.
    #[test]
    fn every_path_parameter_has_a_pattern() {
        for route in ROUTES {
            for name in path_parameters(route.path) {
                assert!(
                    path_schema(name).get("pattern").is_some(),
                    "{} {}: {name}",
                    route.method,
                    route.path
                );
            }
        }
    }
}
