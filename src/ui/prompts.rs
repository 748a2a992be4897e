//! Questions in a terminal (dialoguer, on stderr). Only `init` and `down` ask.

use dialoguer::theme::SimpleTheme;
use dialoguer::{Confirm, Input, Select};

/// Asks on the terminal; every question has a default the user takes with Enter.
pub struct Prompter {
    theme: SimpleTheme,
}

impl Default for Prompter {
    fn default() -> Self {
        Self { theme: SimpleTheme }
    }
}

impl Prompter {
    /// A line of text; `check` explains what is wrong and the question is asked again.
    pub fn input<F>(&self, prompt: &str, default: &str, check: F) -> std::io::Result<String>
    where
        F: Fn(&str) -> Result<(), String>,
    {
        let mut input = Input::<String>::with_theme(&self.theme).with_prompt(prompt).allow_empty(true);
        if !default.is_empty() {
            input = input.default(default.to_string());
        }
        let answer = input
            .validate_with(|s: &String| check(s.trim()))
            .interact_text()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(answer.trim().to_string())
    }

    /// One of `items`; returns its index.
    pub fn select(&self, prompt: &str, items: &[String], default: usize) -> std::io::Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    pub fn confirm(&self, prompt: &str, default: bool) -> std::io::Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}
