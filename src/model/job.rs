//! Durable background jobs: what they are and where they stand.

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "done" => Some(JobState::Done),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// How many times a node has claimed it (more than one after a node died mid-job).
    pub attempts: u32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<Timestamp>,
    pub result: Option<serde_json::Value>,
    /// How far a job that works in steps has got; written in the transaction of each step.
    pub progress: Option<serde_json::Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Done(serde_json::Value),
    Failed(String),
}
