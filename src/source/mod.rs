//! Sources of text to scan: files and folders, standard input, the staged diff, history.

pub mod files;
pub mod history;
pub mod pack;
pub mod push;
pub mod repo;
pub mod staged;
#[cfg(test)]
mod test_git;
