//! A file only its owner can open, on Windows: a protected DACL (nothing inherited from the
//! folder) with one entry, full access for the user the process runs as. What mode 0600 is
//! on Unix, for the SMTP credentials file (`transport::credentials`). Linux and macOS never
//! compile this module.
#![allow(
    unsafe_code,
    reason = "five Win32 calls through windows-sys; each block says why it is sound"
)]

use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, ACL_SIZE_INFORMATION, AclSizeInformation,
    AddAccessAllowedAce, DACL_SECURITY_INFORMATION, GetAclInformation, GetLengthSid,
    GetSecurityDescriptorControl, GetTokenInformation, InitializeAcl,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SE_DACL_PROTECTED, TOKEN_QUERY,
    TOKEN_USER, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

fn wide(p: &Path) -> Vec<u16> {
    p.as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect()
}

/// The process's user SID, in a buffer aligned for `TOKEN_USER` (the SID points into it).
fn token_user() -> io::Result<Vec<u64>> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: the pseudo handle of this process; `token` is written on success.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut len = 0u32;
    // SAFETY: asks for the size only (null buffer, length 0); fails with the size in `len`.
    unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &raw mut len) };
    let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: `buf` holds at least `len` bytes, aligned for TOKEN_USER.
    let ok = unsafe {
        GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &raw mut len)
    };
    let err = io::Error::last_os_error();
    // SAFETY: the token opened above, closed once.
    unsafe { CloseHandle(token) };
    if ok == 0 {
        return Err(err);
    }
    Ok(buf)
}

/// Gives `path` a protected DACL with one entry: full access for the current user.
///
/// # Errors
/// What the calls return (a file system without ACLs, such as FAT, refuses).
pub fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let user = token_user()?;
    // SAFETY: `user` holds a TOKEN_USER written by GetTokenInformation; its SID points into it.
    let sid = unsafe { (*user.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // SAFETY: a valid SID.
    let sid_len = unsafe { GetLengthSid(sid) } as usize;
    let acl_len = std::mem::size_of::<ACL>() + std::mem::size_of::<ACCESS_ALLOWED_ACE>() + sid_len;
    let mut acl = vec![0u64; acl_len.div_ceil(8)];
    let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
    let len = u32::try_from(acl.len() * 8).map_err(|_| io::Error::other("ACL too large"))?;
    // SAFETY: `acl` is `len` bytes, aligned; the ACE fits (header, mask, the SID).
    let built = unsafe {
        InitializeAcl(acl_ptr, len, ACL_REVISION) != 0
            && AddAccessAllowedAce(acl_ptr, ACL_REVISION, FILE_ALL_ACCESS, sid) != 0
    };
    if !built {
        return Err(io::Error::last_os_error());
    }
    let name = wide(path);
    // SAFETY: a NUL-terminated path; owner and group unchanged (null); the DACL built above.
    let r = unsafe {
        SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl_ptr,
            std::ptr::null(),
        )
    };
    if r != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(r.cast_signed()));
    }
    Ok(())
}

/// True when `path`'s DACL is protected and has exactly one entry (what
/// [`restrict_to_owner`] sets), for the tests and `doctor`-like checks.
///
/// # Errors
/// What `GetNamedSecurityInfoW` returns.
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    let name = wide(path);
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path; `dacl` and `sd` are written on success, `sd` owning both.
    let r = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &raw mut dacl,
            std::ptr::null_mut(),
            &raw mut sd,
        )
    };
    if r != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(r.cast_signed()));
    }
    let mut control = 0u16;
    let mut revision = 0u32;
    let mut size = ACL_SIZE_INFORMATION {
        AceCount: 0,
        AclBytesInUse: 0,
        AclBytesFree: 0,
    };
    // SAFETY: `sd` and `dacl` were returned above and live until LocalFree below.
    let ok = unsafe {
        GetSecurityDescriptorControl(sd, &raw mut control, &raw mut revision) != 0
            && !dacl.is_null()
            && GetAclInformation(
                dacl,
                (&raw mut size).cast(),
                u32::try_from(std::mem::size_of::<ACL_SIZE_INFORMATION>()).unwrap_or(12),
                AclSizeInformation,
            ) != 0
    };
    // SAFETY: `sd` was allocated by GetNamedSecurityInfoW with LocalAlloc.
    unsafe { LocalFree(sd) };
    Ok(ok && control & SE_DACL_PROTECTED != 0 && size.AceCount == 1)
}

/// True when this Windows build runs under Wine (`scripts/wine/run.sh` says so): Wine takes a
/// file's DACL and reports one made from its Unix mode bits instead (three entries, not
/// protected), so a test can check there only that the call succeeded.
pub fn under_wine() -> bool {
    std::env::var_os("SPOOLBOX_UNDER_WINE").is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_file_restricted_to_its_owner_reads_back_so() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret.json");
        std::fs::write(&f, b"{}").unwrap();
        assert!(
            !is_owner_only(&f).unwrap(),
            "a new file inherits its folder's entries"
        );
        restrict_to_owner(&f).unwrap();
        if !under_wine() {
            assert!(is_owner_only(&f).unwrap());
        }
    }
}
