/// Who is acting. Every use case receives one, so that permission checks can be added to the
/// application layer without reshaping its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The holder of the account's private API key: may do everything.
    AccountKey,
    /// The server itself (sweeper, startup repair); never comes from a request.
    System,
}

impl Principal {
    /// How the principal is written into the event log.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Principal::AccountKey => "account-key",
            Principal::System => "system",
        }
    }
}
