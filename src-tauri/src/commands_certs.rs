//! Commands of the Certificates view's management panel (create, upload, rotate, delete) and
//! of the global load balancer view: parse, call `cutover_core`, stream progress.
//!
//! A private key picked as a file is read here, in Rust: its text never enters the webview.
//! A pasted key does come from the webview (the user put it there); it is passed on to core and
//! DigitalOcean only, never logged (`UploadInput`'s `Debug` redacts it) nor kept.

use cutover_core::certs::manage::{
    self, NewCertificate, RotateInput, RotateOutcome, RotatePlan, RotateProgress, UploadCheck,
    UploadInput,
};
use cutover_core::certs::{BackendReport, CertCheckOptions};
use cutover_core::glb::{FleetCheck, GlbTree};
use cutover_core::lb::Certificate;
use cutover_core::ApiError;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::state::AppState;

/// A PEM file, given as a path the user picked (read here) or as pasted text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PemSource {
    pub path: Option<String>,
    pub text: Option<String>,
}

impl PemSource {
    fn read(&self, what: &str) -> Result<Option<String>, ApiError> {
        if let Some(text) = self.text.as_deref().filter(|t| !t.trim().is_empty()) {
            return Ok(Some(text.to_string()));
        }
        let Some(path) = self
            .path
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        else {
            return Ok(None);
        };
        std::fs::read_to_string(path).map(Some).map_err(|e| {
            ApiError::invalid_input(format!("Could not read the {what} file {path}: {e}"))
                .with_details(serde_json::json!({ "field": what }))
        })
    }
}

/// An upload as the form sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UploadForm {
    pub name: String,
    pub cert: PemSource,
    pub key: PemSource,
    pub chain: PemSource,
    /// A private CA file (path) to trust for the check.
    pub ca_file: Option<String>,
    pub allow_untrusted: bool,
}

impl UploadForm {
    fn to_input(&self) -> Result<UploadInput, ApiError> {
        let need = |s: &PemSource, what: &str| {
            s.read(what)?.ok_or_else(|| {
                ApiError::invalid_input(format!("Give the {what}: pick its file or paste it."))
                    .with_details(serde_json::json!({ "field": what }))
            })
        };
        Ok(UploadInput {
            name: self.name.clone(),
            leaf_pem: need(&self.cert, "certificate")?,
            key_pem: need(&self.key, "key")?,
            chain_pem: self.chain.read("chain")?,
            domains: Vec::new(),
            ca_pem: match self.ca_file.as_deref().filter(|p| !p.trim().is_empty()) {
                Some(p) => Some(cutover_core::certs::read_ca_file(p)?),
                None => None,
            },
            allow_untrusted: self.allow_untrusted,
        })
    }
}

/// Where a rotation's new certificate comes from, as the form sends it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewCertificateForm {
    Existing {
        name: String,
    },
    LetsEncrypt {
        name: String,
        dns_names: Vec<String>,
    },
    Upload {
        form: UploadForm,
    },
}

/// A rotation as the form sends it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct RotateForm {
    pub old: String,
    pub new: NewCertificateForm,
    pub override_kubernetes: bool,
}

impl RotateForm {
    fn to_input(&self) -> Result<RotateInput, ApiError> {
        Ok(RotateInput {
            old: self.old.clone(),
            new: match &self.new {
                NewCertificateForm::Existing { name } => {
                    NewCertificate::Existing { name: name.clone() }
                }
                NewCertificateForm::LetsEncrypt { name, dns_names } => {
                    NewCertificate::LetsEncrypt {
                        name: name.clone(),
                        dns_names: dns_names.clone(),
                    }
                }
                NewCertificateForm::Upload { form } => NewCertificate::Upload(form.to_input()?),
            },
            override_kubernetes: self.override_kubernetes,
        })
    }
}

/// Opens the native file picker (from Rust: nothing is allowed to the webview) for a PEM file
/// and returns the chosen path, or `None` when cancelled. Only the path goes back.
#[tauri::command]
#[specta::specta]
pub async fn pick_pem_file(app: AppHandle, title: String) -> Result<Option<String>, ApiError> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(title)
        .add_filter("PEM", &["pem", "crt", "cer", "key"])
        .pick_file(move |chosen| {
            let _ = tx.send(chosen);
        });
    let Some(chosen) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = chosen.into_path().map_err(|e| {
        ApiError::invalid_input(format!("the chosen file is not a path: {e}"))
            .with_details(serde_json::json!({ "field": "path" }))
    })?;
    Ok(Some(path.display().to_string()))
}

/// Checks an upload's files without sending anything.
#[tauri::command]
#[specta::specta]
pub async fn check_certificate_upload(
    state: State<'_, AppState>,
    form: UploadForm,
) -> Result<UploadCheck, ApiError> {
    let input = form.to_input()?;
    let conn = state.workspace.connection().await.ok();
    manage::check_upload(
        &input,
        conn.as_ref().and_then(|c| c.extra_ca_pem.as_deref()),
    )
    .await
}

/// Uploads a custom certificate (refused, nothing sent, when its check fails).
#[tauri::command]
#[specta::specta]
pub async fn upload_certificate(
    state: State<'_, AppState>,
    form: UploadForm,
) -> Result<Certificate, ApiError> {
    let input = form.to_input()?;
    let conn = state.workspace.connection().await?;
    Ok(manage::upload(&conn, &input).await?.1)
}

/// Asks DigitalOcean for a Let's Encrypt certificate.
#[tauri::command]
#[specta::specta]
pub async fn create_lets_encrypt_certificate(
    state: State<'_, AppState>,
    name: String,
    dns_names: Vec<String>,
) -> Result<Certificate, ApiError> {
    let conn = state.workspace.connection().await?;
    manage::create_lets_encrypt(&conn, &name, &dns_names).await
}

/// Deletes a certificate (refused with who uses it while in use).
#[tauri::command]
#[specta::specta]
pub async fn delete_certificate(
    state: State<'_, AppState>,
    name: String,
) -> Result<Certificate, ApiError> {
    let conn = state.workspace.connection().await?;
    manage::delete_certificate(&conn, &name).await
}

/// The review of a rotation: nothing is written.
#[tauri::command]
#[specta::specta]
pub async fn plan_certificate_rotation(
    state: State<'_, AppState>,
    form: RotateForm,
) -> Result<RotatePlan, ApiError> {
    let input = form.to_input()?;
    let conn = state.workspace.connection().await?;
    manage::plan_rotate(&conn, &input).await
}

/// Rotates, streaming each step to `progress`; the outcome says what is left when it stops.
#[tauri::command]
#[specta::specta]
pub async fn rotate_certificate(
    state: State<'_, AppState>,
    form: RotateForm,
    progress: Channel<RotateProgress>,
) -> Result<RotateOutcome, ApiError> {
    let input = form.to_input()?;
    let conn = state.workspace.connection().await?;
    manage::rotate(&conn, &input, Default::default(), |p| {
        // A closed view is not an error: the outcome still comes back.
        let _ = progress.send(p);
    })
    .await
}

/// A global load balancer's tree: its regional load balancers, their droplets, its domains.
#[tauri::command]
#[specta::specta]
pub async fn glb_tree(state: State<'_, AppState>, id: String) -> Result<GlbTree, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::glb::tree(&conn, &id).await
}

/// The certificate check of each regional fleet of a global load balancer, each backend
/// streamed with its load balancer's id.
#[tauri::command]
#[specta::specta]
pub async fn glb_check_fleets(
    state: State<'_, AppState>,
    id: String,
    domain: Option<String>,
    progress: Channel<GlbBackendMsg>,
) -> Result<Vec<FleetCheck>, ApiError> {
    let conn = state.workspace.connection().await?;
    cutover_core::glb::check_fleets(
        &conn,
        &id,
        domain.as_deref(),
        &CertCheckOptions::default(),
        |lb_id, report| {
            let _ = progress.send(GlbBackendMsg {
                lb_id: lb_id.to_string(),
                report: report.clone(),
            });
        },
    )
    .await
}

/// One backend of a regional fleet, as its check finishes.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct GlbBackendMsg {
    pub lb_id: String,
    pub report: BackendReport,
}
