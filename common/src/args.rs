//! The flags every server takes, with the defaults PROTOCOL.md gives.
//!
//! Each server's own `Args` flattens [`CommonArgs`] and adds `--addr` (whose
//! default differs per server) and its model's flags, so `--help` reads the
//! same for all five.

use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;
use protocol::SessionConfig;

use crate::duration::{parse_duration, zero_disables};
use crate::limits::default_max_connections;

/// What a server's accept loop needs besides the per-connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeConfig {
    /// Most connections served at once (`--max-connections`).
    pub max_connections: usize,
    /// How long connections get to finish after a shutdown starts.
    pub shutdown_grace: Duration,
}

/// Limits and timeouts shared by every server.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Most connections served at once; one more is answered `ERR busy` and
    /// closed [default: the open-file limit less a small reserve]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,

    /// Longest line in bytes, counting its \r and \n; a longer one is
    /// answered `ERR line too long` and the connection closed
    #[arg(long, value_name = "BYTES", default_value_t = protocol::DEFAULT_MAX_LINE,
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub max_line: usize,

    /// Time from accept to a finished handshake (0 disables)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// Time a handshaked connection may stay without a complete line (0 disables)
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// On SIGINT/SIGTERM, how long open connections get to finish; the
    /// process exits when it runs out (0: close at once)
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Most units one `WORK` request may ask for (about 1 µs each)
    #[arg(long, value_name = "UNITS", default_value_t = protocol::DEFAULT_MAX_WORK)]
    pub max_work: u64,

    /// Longest `SLEEP` in milliseconds
    #[arg(long, value_name = "MS", default_value_t = protocol::DEFAULT_MAX_SLEEP_MS)]
    pub max_sleep: u64,
}

impl Default for CommonArgs {
    /// The defaults of PROTOCOL.md, as if no flag was given.
    fn default() -> Self {
        let session = SessionConfig::default();
        CommonArgs {
            max_connections: None,
            max_line: session.max_line,
            handshake_timeout: session.handshake_timeout.unwrap_or_default(),
            idle_timeout: session.idle_timeout.unwrap_or_default(),
            shutdown_grace: Duration::from_secs(5),
            max_work: session.max_work,
            max_sleep: session.max_sleep_ms,
        }
    }
}

impl CommonArgs {
    /// The per-connection limits and timeouts.
    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            max_line: self.max_line,
            max_work: self.max_work,
            max_sleep_ms: self.max_sleep,
            handshake_timeout: zero_disables(self.handshake_timeout),
            idle_timeout: zero_disables(self.idle_timeout),
        }
    }

    /// How the server admits connections and shuts down.
    pub fn serve_config(&self, fd_limit: u64) -> ServeConfig {
        ServeConfig {
            max_connections: self.max_connections(fd_limit),
            shutdown_grace: self.shutdown_grace,
        }
    }

    /// These settings as command-line flags, for starting a server binary
    /// (durations in milliseconds, which every duration flag reads).
    pub fn to_flags(&self) -> Vec<String> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut flags = vec![
            "--max-line".to_owned(),
            self.max_line.to_string(),
            "--handshake-timeout".to_owned(),
            ms(self.handshake_timeout),
            "--idle-timeout".to_owned(),
            ms(self.idle_timeout),
            "--shutdown-grace".to_owned(),
            ms(self.shutdown_grace),
            "--max-work".to_owned(),
            self.max_work.to_string(),
            "--max-sleep".to_owned(),
            self.max_sleep.to_string(),
        ];
        if let Some(limit) = self.max_connections {
            flags.extend(["--max-connections".to_owned(), limit.to_string()]);
        }
        flags
    }

    /// `--max-connections`, or what the open-file limit allows.
    pub fn max_connections(&self, fd_limit: u64) -> usize {
        match self.max_connections {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => default_max_connections(fd_limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn flags_read_back_as_the_same_settings() {
        let args = CommonArgs {
            max_connections: Some(2),
            max_line: 64,
            handshake_timeout: Duration::from_millis(1500),
            idle_timeout: Duration::ZERO,
            shutdown_grace: Duration::from_millis(300),
            max_work: 7,
            max_sleep: 9,
        };
        let flags = args.to_flags();
        let argv = std::iter::once("server".to_owned()).chain(flags.clone());
        let parsed = Cli::try_parse_from(argv).unwrap().common;
        assert_eq!(parsed.to_flags(), flags);
        assert_eq!(parsed.session_config(), args.session_config());
        assert_eq!(parsed.max_connections, Some(2));
        assert_eq!(parsed.shutdown_grace, Duration::from_millis(300));
        assert!(
            !CommonArgs::default()
                .to_flags()
                .contains(&"--max-connections".to_owned())
        );
    }

    #[test]
    fn defaults_are_those_of_the_protocol() {
        let cli = Cli::try_parse_from(["server"]).unwrap();
        assert_eq!(cli.common.session_config(), SessionConfig::default());
        assert_eq!(cli.common.shutdown_grace, Duration::from_secs(5));
        assert_eq!(cli.common.max_connections(20_000), 20_000 - 64);
        let defaults = CommonArgs::default();
        assert_eq!(defaults.session_config(), SessionConfig::default());
    }

    #[test]
    fn flags_set_limits_and_zero_disables_timeouts() {
        let cli = Cli::try_parse_from([
            "server",
            "--max-connections",
            "2",
            "--idle-timeout",
            "1s",
            "--handshake-timeout",
            "0",
            "--max-line",
            "64",
            "--max-sleep",
            "50",
        ])
        .unwrap();
        let config = cli.common.session_config();
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(1)));
        assert_eq!(config.handshake_timeout, None);
        assert_eq!((config.max_line, config.max_sleep_ms), (64, 50));
        assert_eq!(cli.common.max_connections(20_000), 2);
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        for args in [
            ["server", "--idle-timeout", "soon"],
            ["server", "--max-connections", "0"],
            ["server", "--max-line", "0"],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err().to_string();
            assert!(error.contains(args[1]), "{error}");
        }
    }
}
