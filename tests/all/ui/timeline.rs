//! The Timeline panel, by label: a demo send draws its bars on the right lanes in the right
//! colours; clicking a bar selects its message and travels to that step; a fault shows its
//! mark on the lane it hit.

use super::*;
use spoolbox::profile::FaultConfig;
use spoolbox::store::timeline::{Kind, Outcome};
use spoolbox::ui::Intent;
use spoolbox::ui::timeline::data::Bar;
use spoolbox::ui::timeline::outcome_color;

/// The demo store, loaded, running, with the timeline shown.
fn running_with_timeline(dir: &Path) -> Harness<'static, SpoolboxApp> {
    let mut h = app(dir);
    loaded(&mut h);
    h.get_by_label("Resume").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::T);
    step_until(&mut h, "the timeline's history read", |a| {
        a.model.show_timeline && a.model.timeline.history_loaded
    });
    h.run_steps(2);
    // The lanes, or (nothing ran yet) what to do to make something run.
    assert!(
        h.query_by_label("Timeline lanes").is_some()
            || h.query_by_label_contains("Nothing recorded yet").is_some()
    );
    h
}

/// The bar of `kind` on `lane` for message `eid` (and `step`), once recorded.
fn bar_of(
    app: &SpoolboxApp,
    lane: &str,
    kind: Kind,
    eid: EntryId,
    step: Option<Step>,
) -> Option<Bar> {
    let l = app.model.timeline.lanes.iter().find(|l| l.name == lane)?;
    l.bars
        .iter()
        .chain(&l.marks)
        .find(|b| b.kind == kind && b.eid == Some(eid) && (step.is_none() || b.step == step))
        .cloned()
}

/// Zooms the view onto `bar` (it takes the middle third of the lanes).
fn zoom_on(h: &mut Harness<'_, SpoolboxApp>, bar: &Bar) {
    let dur = i64::try_from(bar.dur).unwrap().max(200);
    let t = &mut h.state_mut().timeline;
    t.from = Some(bar.start - dur);
    t.width = dur * 3;
    t.follow = false;
    h.run_steps(3);
}

/// The colour drawn at the middle of `rect` (points), as RGB.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a point on screen to a pixel"
)]
fn colour_at(h: &mut Harness<'_, SpoolboxApp>, rect: egui::Rect) -> [u8; 3] {
    let img = h.render().expect("the harness renders (lavapipe)");
    let ppp = h.ctx.pixels_per_point();
    let c = rect.center();
    let p = img.get_pixel((c.x * ppp) as u32, (c.y * ppp) as u32);
    [p[0], p[1], p[2]]
}

/// The colour of `o` in the theme the harness draws with.
fn colour_of(h: &Harness<'_, SpoolboxApp>, o: Outcome) -> [u8; 3] {
    let c = outcome_color(o, h.ctx.global_style().visuals.dark_mode);
    [c.r(), c.g(), c.b()]
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 8)
}

#[test]
fn a_demo_send_draws_its_bars_on_the_right_lanes_in_the_right_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = running_with_timeline(&tmp.path().join("demo"));
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    h.get_by_label("Send all (F9)").click();
    step_until(&mut h, "Quarterly report in Sent Items", |a| {
        folder_of(a, "Quarterly report") == Some(FolderKind::SentItems)
    });
    step_until(&mut h, "its pickup hand-off on the timeline", |a| {
        bar_of(a, "Pickup folder", Kind::Handoff, eid, None).is_some()
    });
    // Every lane is there: the spooler, then the transports in priority order.
    let lanes: Vec<String> = h
        .state()
        .model
        .timeline
        .lanes
        .iter()
        .map(|l| l.name.clone())
        .collect();
    assert_eq!(lanes[0], "spooler");
    for lane in &lanes {
        h.get_by_label(&format!("lane {lane}"));
    }

    // The hand-off: on the Pickup folder's lane, green for delivered.
    let handoff = bar_of(h.state(), "Pickup folder", Kind::Handoff, eid, None).unwrap();
    assert_eq!(handoff.outcome, Outcome::Delivered);
    assert!(
        handoff.who().iter().any(|w| w.contains('@')),
        "{:?}",
        handoff.who()
    );
    zoom_on(&mut h, &handoff);
    let bar_rect = h
        .get_by_label_contains(&format!(
            "Pickup folder hand-off · message {eid} · delivered"
        ))
        .rect();
    let lane_rect = h.get_by_label("lane Pickup folder").rect();
    assert!(
        bar_rect.center().y > lane_rect.top() && bar_rect.center().y < lane_rect.bottom(),
        "the hand-off {bar_rect:?} is not on the Pickup folder's lane {lane_rect:?}"
    );
    let spooler_lane = h.get_by_label("lane spooler").rect();
    assert!(bar_rect.center().y > spooler_lane.bottom());
    assert!(
        near(
            colour_at(&mut h, bar_rect),
            colour_of(&h, Outcome::Delivered)
        ),
        "a delivered hand-off is drawn green: {:?}",
        colour_at(&mut h, bar_rect)
    );

    // Its Transmit step: on the spooler's lane, in the colour of a step done.
    let step = bar_of(h.state(), "spooler", Kind::Step, eid, Some(Step::Transmit)).unwrap();
    zoom_on(&mut h, &step);
    let r = h
        .get_by_label_contains(&format!("Transmit · message {eid} · done"))
        .rect();
    assert!(r.center().y > spooler_lane.top() && r.center().y < spooler_lane.bottom());
    assert!(near(colour_at(&mut h, r), colour_of(&h, Outcome::Done)));
}

#[test]
fn clicking_a_bar_selects_its_message_and_travels_to_that_step() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = running_with_timeline(&tmp.path().join("demo"));
    let eid = eid_of(h.state(), "Quarterly report").unwrap();
    h.get_by_label("Send all (F9)").click();
    step_until(&mut h, "its DoSentMail on the timeline", |a| {
        bar_of(a, "spooler", Kind::Step, eid, Some(Step::DoSentMail)).is_some()
    });
    let lock = bar_of(
        h.state(),
        "spooler",
        Kind::Step,
        eid,
        Some(Step::SetLockState),
    )
    .unwrap();
    zoom_on(&mut h, &lock);
    h.get_by_label_contains(&format!("SetLockState · message {eid} · done"))
        .click();
    step_until(
        &mut h,
        "the message shown, travelled to SetLockState",
        |a| {
            let m = a.model.detail.as_ref();
            m.is_some_and(|m| m.entry_id == eid)
                && a.model
                    .travel
                    .and_then(|i| m?.history.get(i))
                    .is_some_and(|r| r.step == Step::SetLockState)
        },
    );
    assert_eq!(h.state().model.focused, Some(eid), "its row is selected");
    h.run_steps(2);
    h.get_by_label_contains("Time travel: the message before SetLockState");
    // The timeline stays where it was.
    assert!(h.state().model.show_timeline);
}

#[test]
fn a_fault_shows_its_mark_on_the_lane_it_hit_and_the_retry_its_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(&tmp.path().join("demo"));
    loaded(&mut h);
    // Armed while the demo is still paused: the first hand-off to the pickup folder fails.
    let faults = FaultConfig {
        fail_next: 1,
        ..FaultConfig::default()
    };
    h.state_mut()
        .apply(Intent::SetFaults("Pickup folder".into(), faults));
    h.run_steps(1);
    h.get_by_label("Resume").click();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::T);
    h.get_by_label("Send all (F9)").click();
    // The first hand-off to the pickup folder fails (whichever message it is).
    let lane_marks = |a: &SpoolboxApp| {
        a.model
            .timeline
            .lanes
            .iter()
            .find(|l| l.name == "Pickup folder")
            .and_then(|l| l.marks.iter().find(|m| m.kind == Kind::Fault).cloned())
    };
    step_until(&mut h, "the fault's mark", |a| lane_marks(a).is_some());
    let mark = lane_marks(h.state()).unwrap();
    let eid = mark.eid.unwrap();
    assert!(mark.text().contains("injected failure"), "{}", mark.text());
    let handoff = h
        .state()
        .model
        .timeline
        .lanes
        .iter()
        .find(|l| l.name == "Pickup folder")
        .and_then(|l| {
            l.bars
                .iter()
                .find(|b| b.eid == Some(eid) && b.start == mark.start)
        })
        .cloned()
        .unwrap();
    assert_eq!(
        handoff.outcome,
        Outcome::Deferred,
        "a transient failure is retried"
    );
    zoom_on(&mut h, &handoff);
    let flag = h
        .get_by_label_contains(&format!(
            "Fault on Pickup folder · message {eid}: injected failure"
        ))
        .rect();
    let lane = h.get_by_label("lane Pickup folder").rect();
    assert!(flag.center().y >= lane.top() && flag.center().y <= lane.bottom());
    let bar = h
        .get_by_label_contains(&format!(
            "Pickup folder hand-off · message {eid} · deferred"
        ))
        .rect();
    assert!(near(
        colour_at(&mut h, bar.shrink(2.0)),
        colour_of(&h, Outcome::Deferred)
    ));
    // No other lane shows the fault.
    let others = h
        .state()
        .model
        .timeline
        .lanes
        .iter()
        .filter(|l| l.name != "Pickup folder")
        .flat_map(|l| &l.marks)
        .filter(|m| m.kind == Kind::Fault)
        .count();
    assert_eq!(others, 0);
}

#[test]
#[allow(
    clippy::many_single_char_names,
    reason = "the view's ends before and after each key"
)]
fn the_keyboard_zooms_pans_fits_and_follows_in_the_lanes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = running_with_timeline(&tmp.path().join("demo"));
    h.get_by_label("Send all (F9)").click();
    step_until(&mut h, "spans on the timeline", |a| {
        a.model.timeline.count > 20
    });
    h.run_steps(2);
    h.get_by_label("Timeline lanes").click();
    h.run_steps(1);
    let view = |h: &Harness<'_, SpoolboxApp>| {
        let a = h.state();
        a.timeline.range(a.model.timeline.span)
    };
    h.key_press(egui::Key::Home);
    h.run_steps(1);
    assert_eq!(h.state().timeline.from, None, "Home fits everything");
    assert!(!h.state().timeline.follow);
    let (a, b) = view(&h);
    h.key_press(egui::Key::Plus);
    h.run_steps(1);
    let (c, d) = view(&h);
    assert!(
        (d - c) * 3 < (b - a) * 2 + 10,
        "+ zooms in: {} then {}",
        b - a,
        d - c
    );
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(1);
    let (e, _) = view(&h);
    assert!(e > c, "→ pans later");
    h.key_press(egui::Key::Minus);
    h.run_steps(1);
    let (f, g) = view(&h);
    assert!(g - f > d - c, "− zooms out");
    h.key_press(egui::Key::End);
    h.run_steps(1);
    assert!(h.state().timeline.follow, "End follows live");
    let (_, end) = view(&h);
    assert!(
        end >= h.state().model.timeline.span.unwrap().1,
        "the newest span is in view"
    );
}

#[test]
fn the_window_reopened_on_a_store_shows_what_ran_before_and_exports_it_for_perfetto() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let eid;
    {
        let mut h = running_with_timeline(&dir);
        eid = eid_of(h.state(), "Quarterly report").unwrap();
        h.get_by_label("Send all (F9)").click();
        step_until(&mut h, "its DoSentMail on the timeline", |a| {
            bar_of(a, "spooler", Kind::Step, eid, Some(Step::DoSentMail)).is_some()
        });
    }
    // The first window is gone (its spooler stopped and synced the timeline): a new one
    // reads what was recorded when its timeline first shows.
    let mut h = app(&dir);
    h.state_mut().dialogs =
        spoolbox::ui::dialogs::Dialogs::new(spoolbox::ui::dialogs::Backend::PathField);
    step_until(&mut h, "the store open", |a| a.model.root.is_some());
    assert!(
        !h.state().model.timeline_asked,
        "nothing is read before the timeline shows"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::T);
    step_until(&mut h, "the recorded history", |a| {
        a.model.timeline.history_loaded
    });
    for step in [Step::SetLockState, Step::Transmit, Step::DoSentMail] {
        assert!(
            bar_of(h.state(), "spooler", Kind::Step, eid, Some(step)).is_some(),
            "{step:?} of the earlier send is on the timeline"
        );
    }
    assert!(bar_of(h.state(), "Pickup folder", Kind::Handoff, eid, None).is_some());

    // Export: the path field (no file dialog here), then a Chrome trace event file.
    let out = tmp.path().join("trace.json");
    h.run_steps(2);
    h.get_by_label("Export Chrome trace…").click();
    h.run_steps(3);
    h.get_by_label("Path").focus();
    h.run_steps(1);
    h.get_by_label("Path").type_text(out.to_str().unwrap());
    h.run_steps(1);
    h.get_by_label("OK").click();
    step_until(&mut h, "the exported file", |_| out.exists());
    step_until(&mut h, "the notice", |a| {
        a.model
            .notices
            .iter()
            .any(|n| n.contains("timeline exported"))
    });
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let message = eid.to_string();
    assert!(events.iter().any(|e| {
        e["ph"] == "X" && e["name"] == "Transmit" && e["args"]["message"] == message.as_str()
    }));
}
