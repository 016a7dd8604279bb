//! Sources: files and folders, standard input, the staged diff, history, what a push sends,
//! the tracked files. Each yields units of content with their origin; none scans, and none
//! imports the matcher, the pipeline or the reports.

pub mod ci;
pub mod files;
pub mod git;
pub mod history;
pub mod push;
pub mod staged;
pub mod tracked;
