//! Sources of text to scan: files and folders, standard input, the staged diff, history.

pub mod ci;
pub mod files;
pub mod git;
pub mod history;
pub mod push;
pub mod staged;
