"""What each feature name means for someone writing a rule: its unit and one line.

The registry (``features.FEATURES``) knows which function provides a name and its
scope; this table adds, per name, the unit a threshold is written in and a line of
documentation, for ``diagnose features``. Units: ``loss`` (the metric's own
scale), ``metric`` (the selection metric's scale), ``ratio`` (a quotient, 1 = equal),
``fraction`` (0..1 of the run or of a drop), ``relative`` (a change over a base value),
``step``, ``count``, ``flag`` (1 or 0), ``text`` (for messages only), ``seconds``,
``bytes`` and ``param`` (the run's own setting, in its units).
"""

from __future__ import annotations

__all__ = ["CATALOG"]

_T = """
train_points      count     finite points of the train loss
train_first       loss      first finite train loss (raw)
train_first_step  step      step of the first finite train loss
train_last_step   step      step of the last finite train loss
train_start       loss      first value of the smoothed train loss
train_end         loss      last value of the smoothed train loss
train_ends_note   text      a phrase for messages: the smoothed first and last train loss, or that the curve is too short to smooth
train_end_note    text      a phrase for messages: " (smoothed X)" with the last smoothed train loss, empty when too short to smooth
train_min         loss      lowest smoothed train loss
train_range       loss      largest minus smallest logged train loss (0: the same number at every logged step)
train_range_after_first loss largest minus smallest logged train loss after its first point (0: one number from the second logged step on)
grad_dead_after_first flag  1 when a logged gradient norm is NaN/inf or exactly 0 at every logged step after the first train loss (no update took), 0 when not; absent without a gradient norm or when the train loss moves after its first point
constant_story    text      a phrase for messages: the one number the train loss logged, at how many points and steps (after its first, when that differs)
train_drop        relative  how much the smoothed train loss fell, over its first value
first_step        step      first step of the run
last_step         step      last step of the run
steps_run         step      last step minus first step
decel             ratio     drop in the first half of the steps over the drop in the second (1 = straight line)
trend_decel       ratio     Theil-Sen slope of the first half of the raw train loss over that of the second half (about 1 = steady fall)
nonfinite         count     NaN/inf values in the loss and accuracy metrics of the run
nonfinite_train   count     NaN/inf values in the train loss
first_nonfinite_step step   first step with a NaN/inf value in any metric
nonfinite_sparse  flag      1 when the train loss turned NaN/inf between two logged points more than one optimizer step apart
nonfinite_to_end  count     logged train loss points after the last finite one (NaN/inf to the end of the run)
nonfinite_to_end_step step  the first of those points (None when the run ends finite)
nonfinite_unseen  text      how much went unlogged there ("50 steps", "a whole epoch"; empty otherwise)
nonfinite_metric  text      the metric with the first NaN/inf value
nonfinite_val_start flag    1 when every NaN/inf is a validation curve's first evaluations (finite after) and the train loss has none
nonfinite_val_start_last_step step the last of those evaluations (None otherwise)
nonfinite_recovered flag    1 when every curve with NaN/inf ends finite and has fewer NaN/inf than finite points: the run went on
nonfinite_back_note text    a phrase for messages: which curves had how many NaN/inf, finite again after (empty otherwise)
peak_ratio_before_nonfinite ratio largest train loss before the first NaN over the first value
nonfinite_after_growth flag the train loss grew (x1.5) before turning NaN/inf: divergence, not a bug
nonfinite_note    text      a phrase for messages naming the NaN/inf values (empty when none)
val_nonfinite_evals count   NaN/inf evaluations of a validation loss (or part) that was finite before them and finite again after (0: none came back)
val_nonfinite_first_step step the first of them
val_nonfinite_last_step step the last of them
val_nonfinite_when text     those evaluations in words: how many and from which step to which, or the one step
val_back_step     step      the first finite evaluation after them
val_back_value    loss      the value logged there
val_nonfinite_metric text   the validation curve (val/loss or a part of it) they were in
peak_ratio        ratio     largest finite train loss over the first one
peak_step         step      step of the largest finite train loss
final_ratio       ratio     last smoothed train loss over the first raw value
rise_ratio        ratio     largest finite train loss over where the run started: the median of its first start_points points before the peak (up to the first already above sustained_ratio times the run's scale), or the run's scale when larger
rise_end_ratio    ratio     last smoothed train loss over the same start as rise_ratio
blowup_first_step step      first step where the train loss is above twice its first value or NaN/inf
blowup_last_step  step      last such step
blowup_value      loss      largest finite train loss
blowup_from       loss      first finite train loss (what the blow-up is measured from)
smooth_peak_ratio ratio     peak of the smoothed train loss over its first value (spikes do not lift it)
peak_over_neighbours ratio   the largest finite train loss over the larger of the logged points just before and after it (1 at either end, where a side is missing): far above 1 for a one-point peak
peak_after_over_before ratio the finite train loss logged just after its largest value over the one logged just before it (None at either end): near 1 when the loss was back at its level by the next log, far above 1 when it stayed up
blowup_share ratio   the share of the finite train loss points above `sustained_ratio` times the run's scale (the first loss, or ln K when larger): how long a blow-up lasted, in logged points, whatever the logging interval
peak_index        count     position of the largest finite train loss among the finite points (0 = the first): a spike detector that reads a level off the points before a spike cannot judge one among the first few
burst_end_index   count     position of the last point of the burst around the largest finite train loss: the consecutive points above `sustained_ratio` times the run's scale (the peak itself when it is lower)
burst_over_neighbours ratio the largest finite train loss over the larger of the points just before and after that burst (1 when the burst touches either end): a burst of two points still stands out, where `peak_over_neighbours` sees only its second point
burst_story       text      the largest finite train loss told as a burst (its step, its height over the points beside the burst and over the first value, the point after the burst, where the run ends); absent when the burst touches the first or the last point
after_peak_z      z         Mann-Kendall z of the raw train loss after its highest point (strongly negative: it falls again; near 0: it sits at one level)
spike_count       count     upward excursions of the train loss that stand out of their neighbourhood's noise (tall, or broad), rose from the points before and came back down
spike_max_ratio   ratio     largest spike's top over the level of the points just before it
spike_second_ratio ratio    the second largest spike's top over its level (None with one spike)
spike_max_z       z         the strongest spike in local noise SDs (peak z of a tall one, z summed over sqrt(width) of a broad one)
spike_max_height  ratio     tallest spike's rise above the level just before it, over the run's scale (the first train loss, or ln K when larger)
spike_sure_count  count     spikes at once spike_sure_z SDs, spike_sure_ratio times their level and spike_sure_height of the run's scale high
spike_first_step  step      step of the first spike
spike_last_step   step      step of the last spike
spike_story       text      the spikes in logged steps, or (when none) how the train loss still bounces at its end
spike_story_first_step step first step spike_story points at
spike_story_last_step step  last step spike_story points at
spike_warmup_steps step     warmup for the next run: to spike_story_first_step (never past it), at most about max_warmup_share of the run (one significant figure)
spike_in_part     flag      1 when the spikes counted are those of a logged part of the train loss (the sum had none, or only spikes under spike_sum_ratio times their level)
prenan_spike_count count    spikes of the train loss (as spike_count) among the points before it first turned NaN/inf; 0 when it never did
prenan_spike_sure_count count of those, the sure ones (as spike_sure_count)
prenan_spike_max_ratio ratio largest of those spikes over the level just before it
prenan_spike_max_z z        the strongest of those spikes in local noise SDs
prenan_spike_max_height ratio tallest of those spikes' rise over the run's scale
prenan_spike_first_step step step of the first spike before the first NaN/inf
prenan_spike_last_step step step of the last spike before the first NaN/inf
prenan_step       step      step of the first non-finite train loss (absent when it has none)
prenan_end_ratio  ratio     median of the last few finite train losses before the first NaN/inf over the run's scale (the first loss, or ln K when larger): about 1 or less when it broke at its own level, huge when it grew into the NaN
prenan_spike_story text     the spikes before the first NaN/inf in logged steps
prepeak_spike_count count   spikes of a finite, positive train loss (as spike_count) among the points before the blow-up around its highest point (the stretch above blowup_over_scale times the run's scale); 0 when it never rose that high
prepeak_spike_sure_count count of those, the sure ones (as spike_sure_count)
prepeak_spike_max_ratio ratio largest of those spikes over the level just before it
prepeak_spike_max_z z       the strongest of those spikes in local noise SDs
prepeak_spike_max_height ratio tallest of those spikes' rise over the run's scale
prepeak_spike_first_step step step of the first spike before the blow-up
prepeak_spike_last_step step step of the last spike before the blow-up
prepeak_step      step      first step of the blow-up around the train loss's highest point (absent when it never rose above blowup_over_scale times the scale)
prepeak_end_ratio ratio     median of the last few train losses before that blow-up over the run's scale
prepeak_share     fraction  how far into the run's steps that blow-up began (0 at the first logged step, 1 at the last)
prepeak_spike_story text    those spikes in one sentence of logged steps and values
val_spike_count   count     validation evaluations that jumped far above the evaluations before and came back
val_spike_max_ratio ratio   largest validation spike over the level of the evaluations before it (their median, or the last when they fell at every step)
val_spike_first_step step   step of the first validation spike
val_spike_last_step step    step of the last validation spike
val_spike_story   text      the largest validation spike in logged values: level before, top, the next evaluation
val_spike_in_part flag      1 when the validation spikes counted are those of a logged part of the validation loss
val_spike_part_share fraction when the spikes are a part's: that part's jump (its top minus its level) over the summed validation loss before it; how much of what the optimiser's loss saw moved
oscillation       ratio     total variation of the smoothed train loss over its range (1 = monotone)
val_points        count     finite points of the validation loss
val_first         loss      first logged validation loss
val_trend_z       ratio     Mann-Kendall z of the raw validation loss over the whole run (negative: falling)
val_median_improvement relative first validation loss minus the median of the later evaluations, over the first (what a long noisy log improved, its luckiest evaluation aside)
val_best          loss      lowest smoothed validation loss
val_best_step     step      step of the lowest smoothed validation loss
val_best_pos      fraction  where in the run the best validation loss came (0 = start, 1 = end)
val_end           loss      last smoothed validation loss
val_rise          relative  rise of the validation loss from its best level to its end, over the best level (on the smoothed curve; a curve too short to smooth is read as logged)
val_rise_of_drop  fraction  that rise over the drop from the first value to the best
val_last_step     step      last step with a validation value
val_evals_after_best count  validation points after the best one
train_drop_after_best relative how much the train loss kept falling after the best validation step
train_trend_after_best ratio Mann-Kendall z of the raw train loss from where validation turned to the last evaluation (negative: still falling)
gap_end           loss      validation minus train loss at the last validation step
gap_ratio_end     ratio     validation over train loss at the last validation step
gap_rel_end       relative  gap_end over the gap scale (the first train loss, ln K or the first validation loss, whichever is largest)
gap_best          loss      validation minus train loss at the best validation step
gap_ratio_best    ratio     validation over train loss at the best validation step
gap_rel_best      relative  gap_best over the gap scale (as gap_rel_end)
train_at_val_end  loss      smoothed train loss at the last validation step
val_end_note      text      a phrase for messages: " (smoothed X)" with the last smoothed validation loss, empty when too short to smooth
gap_train_how     text      a phrase for messages: "smoothed, " when the train loss read at validation steps was smoothed, "the median of m logged train points around it, " when the final one quoted is that median (a sparse log), else empty
train_at_val_best loss      smoothed train loss at the best validation step
gap_first_step    step      first step where validation exceeds train by gap_start of the gap scale
train_at_val_end_lo loss  train at the last validation step, the lower of its two readings (smoothed curve; median of the gap_min_points nearest points of a sparse log)
gap_ratio_end_lo  ratio     final validation loss over train_at_val_end_lo (validation below train must hold against both readings)
gap_rel_end_lo    relative  final validation minus train_at_val_end_lo, over the gap scale
val_second_half_gain relative validation loss gained over the second half of the evaluations (one less the median of its last third over that of its first third; below 0 when it rose)
val_last_third_gain relative how much lower the last third of the evaluations went than every one before it (one less the ratio of their lowest values; at least 3 in that third)
train_second_half_fall ratio  smoothed train loss at the middle evaluation over that at the last: how far train kept falling while validation did (or did not)
acc_gap_end       fraction  train minus validation accuracy at the end
train_acc_end     fraction  last smoothed train accuracy
val_acc_end       fraction  last smoothed validation accuracy
val_acc_best      fraction  highest smoothed validation accuracy
tail_share        fraction  share of the total improvement made in the last 20 % of the run
tail_drop_rel     relative  drop over the last 20 % of the run, over the value where that stretch starts
train_tail_trend_drop relative how far the Theil-Sen line of the raw train loss falls over the last tail_fraction of the steps, over its median there
bounce_spread     ratio     how far the raw train loss still jumps from one logged point to the next, both up and down, over the last bounce_share of the steps; 1 = calm
bounce_height     ratio     spread between the bounce_quantile and 1 - bounce_quantile quantiles of the raw train loss over the last bounce_share of the steps, over ln K for a classifier (else the first train or validation loss, whichever is larger)
bounce_floor      ratio     the low end of the raw train loss over the last bounce_share of the steps (its 1 - bounce_quantile quantile), over the same scale as bounce_height
bounce_measured   flag      1 when bounce_spread and bounce_height could be measured, 0 when not (too few points, or a tail logged as exactly 0)
slow_fall         relative  how far the train loss fell over the run: from its start (the Theil-Sen line's, a higher early median, or a first point above all noise) to the line's end, over the start
slow_decel        ratio     Theil-Sen slope of the train loss's first half over its second half, against the summed learning rate when logged (about 1 = straight fall)
slow_end_pace     ratio     Theil-Sen slope of the train loss over the run's last end_share over the whole run's (about 1 = still falling at its average pace, 0 = flat)
val_slow_fall     relative  slow_fall of the validation loss
val_slow_decel    ratio     slow_decel of the validation loss
val_slow_end_pace ratio     slow_end_pace of the validation loss
slow_axis         text      what the slow_* shapes are read against: the steps, or the summed learning rate when the run logs one
val_slow_note     text      a phrase for messages: the validation loss's fall, bend and end pace (empty without them)
slow_story        text      DG206's sentence in logged values: the train loss, or the validation loss when no train loss is logged
val_short_fall    relative  a validation log too short for trend lines (3-5 evaluations), every one lower than the last: its relative fall
val_short_end_pace ratio    its last evaluation's fall over its average fall per evaluation (1: a straight line, near 0: levelled off)
short_metric      metric    the loss a short log is read on point by point: the validation loss when evaluated three times or more, else the train loss
short_points      count     how many points that loss holds, when every one is lower than the one before, or every one from its highest on with the last the lowest of all (else absent)
short_before_peak count     how many of those points come before its highest one (0: lower at every point)
short_how         text      how it fell, in words: lower at every point, or at every point after a rise
short_tail_share  fraction  share of its whole fall made over the last 20 % of the steps (the value where that stretch starts read off the line between the points around it)
short_tail_rel    relative  that last stretch's fall over the value where it starts
short_first       loss      its first value
short_last        loss      its last value (its lowest)
short_first_step  step      the step of its first point
short_last_step   step      the step of its last point
train_fall_before_val fraction share of the train loss's fall (first points' median to last points') made before the first validation step
tail_metric       text      the metric tail_share was measured on (val/loss, else train/loss)
tail_trend_z      ratio     Mann-Kendall z of that metric's logged values over the last third of its points (negative: still falling)
tail_trend_tau    ratio     Kendall tau of the same points (-1: lower at every point than at every point before it)
tail_trend_points count     how many logged points that last third holds
tail_end_gap      fraction  how far that metric's last smoothed value sits above its lowest, over its whole improvement (0: ends at its lowest)
tail_end_pace     ratio     fall per step over the last 10 % of the steps over that over the last 20 % (1: still falling as fast, near 0: flattened)
tail_start_step   step      the logged step nearest to where the last 20 % of the run begins
num_classes       count     number of classes K (run setting, params or the curves); 0 when no K applies (summed loss parts, a regression metric logged)
lnk               loss      ln(K): the cross-entropy of uniform predictions
lnk_ratio_end     ratio     last smoothed train loss over ln(K)
lnk_ratio_val     ratio     last smoothed validation loss over ln(K)
second_half_change how far the Theil-Sen line through the raw train loss moves over the run's second half, relative to its median there
second_half_trend_z z      Mann-Kendall z of the raw train loss over the run's second half (about N(0, 1) without trend)
at_chance         flag      the loss settled within 5 % of ln(K): uniform predictions
chance_note       text      a phrase for messages naming ln(K) (empty when not near it)
lr                param     the run's learning rate (its param, else the largest logged lr)
lr_x3             param     three times lr, rounded as people write it
lr_x10            param     ten times lr, rounded
lr_div3           param     a third of lr, rounded
lr_div10          param     a tenth of lr, rounded
lr_said           text      " (lr=...)" for messages, empty when the run records no lr
lr_div3_said      text      " (lr=<a third> instead of <lr>)" for messages, empty when the run records no lr
batch_size        param     the run's batch size
seed              param     the run's seed
optimizer         text      the run's optimizer
weight_decay      param     the run's weight decay
dropout           param     the run's dropout
epochs            param     the run's epochs
steps_x2          step      twice the run's budget (a longer budget to try)
budget            step      the steps (or epochs) the run trained: its last step, plus one for epochs counted from 0 and for Lightning's 0-based steps
budget_unit       text      what the step axis counts: "epochs" for Keras and Ultralytics logs, else "steps"
wd_up             param     a larger weight decay to try (x10, or 1e-4 from none)
dropout_up        param     a larger dropout to try (+0.2, at most 0.5)
val_metric        text      the selection metric of the group
members           text      the group's run ids
setting           text      the group's setting label
n_seeds           count     seeds in the group
best_mean         metric    mean over seeds of each run's best selection metric
best_std          metric    standard deviation of those bests
best_min          metric    lowest of those bests
best_max          metric    highest of those bests
spread            metric    range (max - min) of the bests
final_mean        metric    mean over seeds of the final selection metric
final_std         metric    standard deviation of the finals
final_min         metric    lowest final
final_max         metric    highest final
final_spread      metric    range of the finals
spread_rel        relative  the larger range over the metric's scale
n_failed          count     seeds with an error finding (divergence, NaN)
swept             text      the parameter(s) the sweep varies
n_settings        count     settings in the sweep
best_setting      text      label of the best setting (mean over its seeds)
best_score        metric    the best setting's mean score
best_n_seeds      count     seeds behind the best setting
best_run          text      the best run of the best setting
runner_up         text      label of the second-best setting
runner_up_score   metric    the runner-up's mean score
gap               metric    distance between the best and runner-up scores
gap_rel           relative  that gap over the metric's scale
seed_spread_top   metric    the larger seed range of the best and runner-up
spread_vs_gap     ratio     seed_spread_top over gap (above 1: reseeding could swap them)
n_values          count     numeric values of the swept param tried
range_lo          param     lowest value tried
range_hi          param     highest value tried
log_spaced        flag      the values span at least 10x and are positive
local             flag      the best value's neighbours are close enough to call it a local optimum
best_at_edge      flag      the best value is the lowest or highest tried
edge              text      which edge: lowest or highest
best_value        param     the swept param's value in the best setting
beyond            param     the next value past the edge to try
best_still_improving flag   the best run was still improving when its budget ran out
best_last_step    step      last step of the best run
longer_budget     step      twice that budget, rounded
time_lo           seconds   shortest train time in the group
time_hi           seconds   longest train time
time_ratio        ratio     longest over shortest train time
best_time         seconds   the best run's train time
mem_lo            bytes     lowest peak memory in the group
mem_hi            bytes     highest peak memory
mem_ratio         ratio     highest over lowest peak memory
best_mem          bytes     the best run's peak memory
n_varying         count     knobs that vary among the compared runs
varying           text      those knobs
first_knob        text      the first of them
n_configs         count     distinct settings compared
n_confounded      count     settings with no neighbour differing in one knob only
confounded        text      the first few such settings
by_is_train       flag      the selection metric (--by) is a training metric
by_metric         text      the selection metric, canonical name
by_pick           text      the setting the --by metric picks
val_pick          text      the setting the validation metric picks, with its score
same_pick         flag      both pick the same setting
run_count         count     runs in the group (group rules only)
gain              metric    mean improvement of the seeds from their first evaluation to their best
spread_gain       ratio     range of the seeds' best values over that improvement (about 1: one seed never learned)
n_blown           count     seeds whose metric blew up by the end (a loss above twice its first evaluation)
has_acc           flag      the seeds log a validation accuracy
acc_spread_pts    metric    range of the seeds' final validation accuracy, in percentage points
acc_min           metric    lowest final validation accuracy among the seeds, in percent
acc_max           metric    highest final validation accuracy among the seeds, in percent
bounded_by        param     the diverged neighbour that bounds the best value (the range is not extended past it)
refine            param     the value to try next, between the best and that bound (lr=3 between 1 and 10)
train_last        loss      last logged train loss (raw)
train_trend_z     ratio     Mann-Kendall z of the raw train loss over the whole run (negative: falling)
train_trend_drop  relative  how far the Theil-Sen line of the train loss falls over the run, over its median
train_level_drop  relative  median of the first fifth minus median of the last fifth, over the first
later_level_drop  relative  train_level_drop over the logged points after the first one (what followed the first logging window)
train_early_z     z         Mann-Kendall z of the train loss's leading points above its second half's 90th percentile and the first point past them (0 under 100 points, with a known K, or without three such points)
train_early_fall  relative  median of the train loss's first three points minus the median of its second half, over the first, when at least three leading points sit above that half's 90th percentile (else 0)
init_over_chance  ratio     first logged train loss over ln K
start_over_chance ratio     median of the train loss's first tenth (at least `start_points` points) over ln K: where a noisy per-batch loss started
end_over_chance   ratio     last smoothed train loss over ln K
end_over_first    ratio     last smoothed train loss over the first logged one
settled_step      step      first logged step whose train loss is within `settle_factor` times the smoothed end (where a blow-up spanning several windows had settled)
settled_level_drop relative train_level_drop over the logged points from settled_step on
val_settled_step  step      first evaluation whose validation loss is within `settle_factor` times its smoothed end
val_settled_points count    evaluations from val_settled_step on
val_settled_first loss      the validation loss at val_settled_step
val_settled_improvement relative val_settled_first minus the lowest validation loss after it, over val_settled_first
settled_story     text      the run after it settled, told in logged values, for messages
end_over_min      ratio     last smoothed train loss over the lowest level of the smoothed curve (None when too short to smooth)
peak_over_chance  ratio     largest finite train loss over ln K
val_min_over_chance ratio   lowest validation loss over ln K
val_end_over_chance ratio   last validation loss over ln K
blowup_story      text      the blow-up told in logged values: first, peak and last loss with their steps
still_tail_spread ratio     how far the finite train loss moves over the last fifth of what followed its peak (at least min_still_points points): max minus min over the median (None with fewer points after the peak)
still_tail_over_before ratio the median of those points over the lowest finite train loss before the peak (None for a peak at the first point)
still_tail_story  text      those points told: their range and steps
blowup_note       text      what ln K says about those values (chance level), or empty
val_last          loss      last logged validation loss
val_rise_story    text      a phrase for messages: "up X% from its best level", X from the logged best and last values, then the smoothed rise the rule judged where it rounds differently
val_improvement   relative  first validation loss minus the lowest, over the first
val_rise_of_scale fraction  rise of the validation loss after its lowest point, over the run's scale (its smoothed first train loss, or ln K when larger)
part_metric       text      the logged part of the validation loss (val/box_loss, val/cls_loss, ...) that rose most after its own best
part_note         text      a phrase for messages on that part (empty when no part rose)
part_best         loss      lowest logged value of that part
part_best_step    step      step of that lowest value
part_last         loss      last logged value of that part
part_last_step    step      step of that last value
part_rise         relative  rise of that part's smoothed curve from its lowest point to its end, over the lowest
part_rise_story   text      the same phrase as `val_rise_story` for that part
part_rise_of_drop fraction  that rise over the part's fall from its first value to its lowest
part_rise_of_scale fraction that rise over the part's own scale (its first train or validation value, whichever is larger)
part_evals_after_best count evaluations of that part after its lowest one
part_trend_after_best ratio Mann-Kendall z of that part's logged values from its lowest on
part_train_drop_after_best relative how much the part's train counterpart fell after the part's best step
val_trend_after_best ratio  Mann-Kendall z of the validation loss from its lowest point on (positive: rising)
val_tau_after_best ratio    Kendall's tau of the validation loss from its lowest point on: the share of rising pairs minus falling ones (1: higher at every later evaluation), which a short log can reach where no z can
val_shift_after_best relative median of the validation losses logged after the turn (the smoothed minimum) over the median of as many logged up to it, minus 1: a band the loss jumped to and stayed in, however erratic
val_climbs_after_best flag 1 when every validation loss logged after the lowest is higher than the one before it
tail_val_rise     relative  last validation loss over its lowest, minus 1
train_after_best_note text  a phrase for messages: " while train loss kept falling", or where it stalled (its smoothed value at the best validation step and at the end), or that no train loss is logged
tail_how          text      a phrase for messages: "smoothed value", the Theil-Sen line's end when it is lower, or "last logged value" when the curve is too short to smooth
tail_values       text      the logged values where the last 20% starts and at the last step, with their steps
acc_logged        flag      train and validation accuracy are both logged
acc_gap_best      fraction  train minus validation accuracy at the best validation loss (points of 0..1)
acc_note          text      the accuracy gap in words, or empty
score_gap_end     fraction  train minus validation of an IoU, dice, Jaccard or F1 score logged for both splits, at the last evaluation (the largest such gap)
score_note        text      that score gap in words, or empty
val_wrong_loss    loss      lowest validation loss over the share of validation examples the final model gets wrong: the average loss each would need if correct ones cost nothing
val_softmax_floor flag      1 when the lowest validation loss is at or above ln(1 + 1/e), the least a softmax applied twice allows
val_wrong_acc     fraction  the validation accuracy val_wrong_loss read (median of the last three evaluations)
val_wrong_low     loss      the lowest logged validation loss val_wrong_loss read
train_under_val_floor flag  1 when the train loss ends (median of its last three points) under ln(1 + 1/e), where a softmax applied twice never lets the validation loss go
chance_dev        ratio     |last smoothed train loss / ln K - 1| (0: at chance level)
chance_dev_val    ratio     the same for the validation loss (0 without validation)
val_acc_chance_dev ratio    |median validation accuracy x K - 1|: 0 when the accuracy sits at 1/K (None without an accuracy or a K)
train_acc_chance_dev ratio  the same for the train accuracy (None without one or a K)
half_mse_dev      ratio     |median of the train loss's last fifth / 0.25 - 1|: 0 at the MSE of answering 1/2 to balanced 0/1 targets
half_mse_spread   ratio     max minus min of the train loss's last fifth over its median (0: not one digit moved)
half_mse_points   count     finite train loss points
half_mse_story    text      the train loss's first value and its last fifth's range, as logged (for DG224's message)
val_low_vs_chance relative  lowest logged validation loss over ln K, minus 1 (about 0: validation never left chance level)
chance_story      text      which curve sits at ln K, in logged values (for DG204's message)
val_acc_points    count     finite points of the validation accuracy
val_acc_range     fraction  largest minus smallest validation accuracy over the whole run
val_acc_frozen    count     evaluations at the end whose validation accuracy equals the last one's (within DG208's max_acc_range)
val_loss_spread   relative  largest minus smallest validation loss over the whole run, over its median
val_frozen_loss_spread relative the same over the evaluations from the first of val_acc_frozen's on (three of them at least): how much the loss moved while the answers stayed the same
val_late_loss_spread relative the same over the second half of the evaluations (three of them at least): whether the loss settled once the model had learned how sure to be
val_under_prior   relative  how far the last validation loss lies below the least entropy of class shares with its accuracy as the largest (0 at or above it): the model knows more than the class balance
val_prior_dev     relative  the last validation loss against the entropy of the class shares its accuracy implies (two classes, or K unknown; with K > 2, the range from the rest on one class to the rest spread evenly; 0: it predicts the prior)
train_prior_dev   ratio     the same for the last train loss over K known classes, whatever the largest share (0 inside the range a prior with that largest share can have)
val_overlap_zero  count     evaluations at the end at which a validation dice, IoU, F1 or recall was exactly 0 (the model marked nothing as the positive class)
train_acc_points  count     finite points of the train accuracy
train_acc_frozen  count     logged points at the end whose train accuracy equals the last one's (within DG208's max_acc_range)
train_acc_last    fraction  the last logged train accuracy (not smoothed)
train_frozen_story text     a phrase for messages: the one train accuracy of every logged point, in a log with no validation accuracy
heads_at_chance   count     outputs of a multi-output or multi-task model whose validation accuracy and loss sit at chance (1/K', ln K') over the second half (a loss-only output: its loss at ln K of the config, or of the K the validation accuracy is 1/K of; evaluated fewer than 4 times: its train loss)
head_chance_story text      which outputs, with their numbers (empty when none)
frozen_story      text      a phrase for messages: the one validation accuracy of every evaluation and how little the validation loss moved
k_note            text      a note when the configured class count contradicts the curves, or empty
"""

#: feature name -> (unit, one-line doc)
CATALOG: dict[str, tuple[str, str]] = {}
for _line in _T.strip().splitlines():
    _name, _unit, _doc = _line.split(None, 2)
    CATALOG[_name] = (_unit, _doc)
