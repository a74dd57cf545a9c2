import { PolicyAction } from './action.js';
import { Condition } from './condition.js';
import { PolicyEngine } from './engine.js';
import { PolicyRule } from './rule.js';

/**
 * The scan manager's default: infected (or any threat any engine found) -> block,
 * suspicious -> quarantine, error -> review,
 * clean -> allow; a fail-open stand-in verdict -> review; anything else -> review.
 */
export function defaultPolicy(): PolicyEngine {
  return new PolicyEngine({ defaultAction: PolicyAction.requireReview() })
    .addRule(
      new PolicyRule('block-infected', PolicyAction.block('malware detected'))
        .withCondition(
          Condition.or(Condition.outcomeIs('infected'), Condition.severityAtLeast('low')),
        )
        .withPriority(100),
    )
    .addRule(
      new PolicyRule(
        'failopen-review',
        PolicyAction.requireReview('an engine was bypassed by its circuit breaker'),
      )
        .withName('Fail-open verdicts need a person')
        .withCondition(Condition.sourceEquals('failopen'))
        .withPriority(90),
    )
    .addRule(quarantineSuspicious())
    .addRule(
      new PolicyRule('review-errors', PolicyAction.requireReview('the scan could not finish'))
        .withCondition(Condition.outcomeIs('error'))
        .withPriority(70),
    )
    .addRule(
      new PolicyRule('allow-clean', PolicyAction.allow()).withCondition(
        Condition.outcomeIs('clean'),
      ),
    );
}

/**
 * For security-critical uploads: infected and suspicious files are quarantined (kept as
 * evidence), errors and fail-open verdicts are blocked, executables and scripts need review
 * even when clean; anything else is blocked.
 */
export function strictPolicy(): PolicyEngine {
  return new PolicyEngine({ defaultAction: PolicyAction.block('no rule allowed this file') })
    .addRule(
      new PolicyRule('quarantine-infected', PolicyAction.quarantine('malware detected'))
        .withCondition(
          Condition.or(Condition.outcomeIs('infected'), Condition.severityAtLeast('low')),
        )
        .withPriority(100),
    )
    .addRule(
      new PolicyRule(
        'block-failopen',
        PolicyAction.block('an engine was bypassed by its circuit breaker'),
      )
        .withCondition(Condition.sourceEquals('failopen'))
        .withPriority(90),
    )
    .addRule(quarantineSuspicious())
    .addRule(
      new PolicyRule('block-errors', PolicyAction.block('the scan could not finish'))
        .withCondition(Condition.outcomeIs('error'))
        .withPriority(70),
    )
    .addRule(
      new PolicyRule('review-executables', PolicyAction.requireReview('executable or script'))
        .withCondition(
          Condition.fileTypeIn([
            'exe',
            'dll',
            'msi',
            'bat',
            'cmd',
            'ps1',
            'sh',
            'js',
            'vbs',
            'jar',
            'scr',
            'application/vnd.microsoft.portable-executable',
            'application/x-executable',
          ]),
        )
        .withPriority(50),
    )
    .addRule(
      new PolicyRule('allow-clean', PolicyAction.allow()).withCondition(
        Condition.outcomeIs('clean'),
      ),
    );
}

/** Both presets keep a suspicious file aside for a closer look. */
function quarantineSuspicious(): PolicyRule {
  return new PolicyRule('quarantine-suspicious', PolicyAction.quarantine('suspicious file'))
    .withCondition(Condition.outcomeIs('suspicious'))
    .withPriority(80);
}
