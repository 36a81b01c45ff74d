//! The window remembers (issue 17, item 3).

use super::*;

/// eframe's storage, in memory.
#[derive(Default)]
pub(crate) struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

pub(crate) fn launch(store: Option<&Path>, reset_ui: bool) -> spoolbox::ui::Launch {
    spoolbox::ui::Launch {
        store: store.map(Path::to_path_buf),
        default_store: None,
        dark: false,
        breakpoints: Vec::new(),
        reset_ui,
    }
}

/// A second app started from what the first saved (the way `ui::run` starts it).
pub(crate) fn app_from(
    storage: &MemStorage,
    launch: &spoolbox::ui::Launch,
) -> Harness<'static, SpoolboxApp> {
    let (dir, state) =
        spoolbox::ui::start_state(launch, Some(storage as &dyn eframe::Storage)).unwrap();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SpoolboxApp::with_state(cc, dir, state))
}

pub(crate) fn folder_kind(a: &SpoolboxApp) -> Option<FolderKind> {
    let f = a.model.folder?;
    a.model
        .folders
        .iter()
        .find(|x| x.entry_id == f)
        .map(|x| x.kind)
}

/// The detail pane is taller than this once made taller (its default is 320).
pub(crate) const DETAIL_TALLER: f32 = 350.0;

/// The detail pane's resize handle (the widest one; the folders' is tall and narrow).
pub(crate) fn detail_handle<'h>(h: &'h Harness<'_, SpoolboxApp>) -> egui_kittest::Node<'h> {
    h.get_all_by_label("Resize panel")
        .max_by(|a, b| a.rect().width().total_cmp(&b.rect().width()))
        .unwrap()
}

/// Theme, folder, sort, detail height and a breakpoint set in one app; the app saved; a new one on another
/// store (where entry ids differ) shows them all again.
pub(crate) fn save_a_customised_app(tmp: &Path) -> MemStorage {
    use spoolbox::ui::model::SortKey;
    let mut h = app(&tmp.join("first"));
    loaded(&mut h);
    h.get_by_label("Dark mode").click();
    h.run_steps(1);
    assert!(h.state().is_dark());
    h.get_by_label_contains("Sent Items (").click();
    h.run_steps(1);
    assert_eq!(folder_kind(h.state()), Some(FolderKind::SentItems));
    h.state_mut().model.sort = (SortKey::Subject, false);
    h.state_mut()
        .command(spoolbox::spooler::Command::SetBreakpoint(
            Step::Transmit,
            true,
        ));
    step_until(&mut h, "the breakpoint to be set", |a| {
        a.model.debug.breakpoints.contains(&Step::Transmit)
    });
    // The detail pane made taller (its resize handle, as a screen reader would).
    for _ in 0..3 {
        detail_handle(&h).increment_accesskit();
        h.run_steps(2);
    }
    assert!(h.state().ui_state().detail_height > DETAIL_TALLER);
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    storage
}

#[test]
fn a_new_app_from_the_saved_state_shows_the_same_theme_folder_sort_and_breakpoints() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let storage = save_a_customised_app(tmp.path());
    let second = tmp.path().join("second");
    let mut h = app_from(&storage, &launch(Some(&second), false));
    loaded(&mut h);
    step_until(&mut h, "Sent Items to be shown again", |a| {
        folder_kind(a) == Some(FolderKind::SentItems)
    });
    assert!(h.state().is_dark());
    assert_eq!(h.state().model.sort, (SortKey::Subject, false));
    let saved =
        spoolbox::ui::persist::UiState::restored(Some(&storage as &dyn eframe::Storage), false);
    assert!(saved.detail_height > DETAIL_TALLER);
    let now = h.state().ui_state().detail_height;
    assert!(
        (now - saved.detail_height).abs() < 0.5,
        "{now} vs {}",
        saved.detail_height
    );
    let top = detail_handle(&h).rect().center().y;
    assert!(
        top < 768.0 - DETAIL_TALLER,
        "the pane is drawn at the remembered height: handle at {top}"
    );
    step_until(&mut h, "the breakpoint to be set again", |a| {
        a.model.debug.breakpoints == vec![Step::Transmit]
    });
    assert_eq!(h.state().model.root.as_deref(), Some(second.as_path()));
}

#[test]
fn open_store_keeps_the_folder_sort_and_breakpoints() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("first"));
    loaded(&mut h);
    h.get_by_label_contains("Sent Items (").click();
    h.state_mut().model.sort = (SortKey::Subject, false);
    h.state_mut()
        .command(spoolbox::spooler::Command::SetBreakpoint(
            Step::Transmit,
            true,
        ));
    step_until(&mut h, "the breakpoint to be set", |a| {
        a.model.debug.breakpoints.contains(&Step::Transmit)
    });
    let other = tmp.path().join("other");
    h.state_mut().request_open_store(other.clone());
    step_until(&mut h, "the other store", |a| {
        a.model.root.as_deref() == Some(other.as_path()) && eid_of(a, "Quarterly report").is_some()
    });
    step_until(&mut h, "its spooler to stop at Transmit too", |a| {
        a.model.debug.breakpoints == vec![Step::Transmit]
    });
    assert_eq!(folder_kind(h.state()), Some(FolderKind::SentItems));
    assert_eq!(h.state().model.sort, (SortKey::Subject, false));
    assert_eq!(h.state().ui_state().last_store, Some(other));
}

#[test]
fn reset_ui_starts_from_defaults_and_overwrites_the_saved_state() {
    use spoolbox::ui::model::SortKey;
    let tmp = tempfile::tempdir().unwrap();
    let storage = save_a_customised_app(tmp.path());
    let mut h = app_from(&storage, &launch(Some(&tmp.path().join("second")), true));
    loaded(&mut h);
    h.run_steps(4);
    assert!(!h.state().is_dark());
    assert_eq!(folder_kind(h.state()), Some(FolderKind::Outbox));
    assert_eq!(h.state().model.sort, (SortKey::Submitted, true));
    assert!(h.state().model.debug.breakpoints.is_empty());
    assert!(h.state().ui_state().detail_height < DETAIL_TALLER);
    let mut again = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut again);
    let state =
        spoolbox::ui::persist::UiState::restored(Some(&again as &dyn eframe::Storage), false);
    assert_eq!(
        spoolbox::ui::persist::UiState {
            folder: Some(spoolbox::ui::persist::FolderPref {
                kind: FolderKind::Outbox,
                name: "Outbox".into(),
            }),
            detail_height: state.detail_height,
            ..Default::default()
        },
        state,
        "what is saved after a reset is the defaults (the Outbox shown)"
    );
}

#[test]
fn the_last_opened_store_is_used_unless_store_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let last = tmp.path().join("last");
    std::fs::create_dir(&last).unwrap();
    let given = tmp.path().join("given");
    let mut storage = MemStorage::default();
    spoolbox::ui::persist::UiState {
        last_store: Some(last.clone()),
        ..Default::default()
    }
    .save(&mut storage);
    let default = tmp.path().join("default");
    let mut l = launch(None, false);
    l.default_store = Some(default.clone());
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, last, "no --store: the last store opened");
    l.store = Some(given.clone());
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, given, "--store wins");
    l.store = None;
    l.reset_ui = true;
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, default, "--reset-ui forgets the last store");
    // A remembered store that is gone is not created again.
    std::fs::remove_dir(&last).unwrap();
    l.reset_ui = false;
    let (dir, _) = spoolbox::ui::start_state(&l, Some(&storage as &dyn eframe::Storage)).unwrap();
    assert_eq!(dir, default);
}

#[test]
fn faults_left_in_the_profile_are_cleared_when_the_window_opens_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    {
        let (mut store, _) = spoolbox::spooler::demo::open(&dir).unwrap();
        let mut p = store.profile().clone();
        // What the Faults window left behind: "fail next 1", already used up last session.
        p.transports[0].faults.fail_next = 1;
        store.set_profile(p).unwrap();
    }
    let mut h = app(&dir);
    loaded(&mut h);
    step_until(&mut h, "the profile", |a| a.model.profile.is_some());
    let p = h.state().model.profile.clone().unwrap();
    assert!(
        p.transports.iter().all(|t| t.faults.is_off()),
        "faults came back re-armed: {:?}",
        p.transports.iter().map(|t| &t.faults).collect::<Vec<_>>()
    );
    assert!(
        h.state()
            .model
            .notices
            .iter()
            .any(|n| n.contains("faults from the last session were cleared")),
        "{:?}",
        h.state().model.notices
    );
    drop(h);
    // And for good: the store's profile no longer has them.
    let (store, _) = spoolbox::store::Store::open(&dir).unwrap();
    assert!(store.profile().transports.iter().all(|t| t.faults.is_off()));
}
