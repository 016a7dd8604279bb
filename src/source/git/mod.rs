//! Git plumbing: opening a repository as git hands it to a hook, the index file, pack files.
//! Nothing here scans.

pub mod index;
pub mod objects;
pub mod pack;
pub mod repo;
#[cfg(test)]
pub(crate) mod test_git;
pub mod tree;
