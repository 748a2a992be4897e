//! `sdctl completions SHELL`: completion scripts generated from the command definitions.

use clap::ValueEnum;
use clap_complete::Shell as ClapShell;

use super::Invocation;
use crate::exit::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    fn clap(self) -> ClapShell {
        match self {
            Self::Bash => ClapShell::Bash,
            Self::Zsh => ClapShell::Zsh,
            Self::Fish => ClapShell::Fish,
            Self::Powershell => ClapShell::PowerShell,
            Self::Elvish => ClapShell::Elvish,
        }
    }
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell.clap(), &mut super::command(), "sdctl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn run(inv: &Invocation, args: super::CompletionsArgs) -> anyhow::Result<ExitCode> {
    inv.ui.out(script(args.shell).trim_end());
    Ok(ExitCode::Ok)
}
