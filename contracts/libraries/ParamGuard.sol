// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @title ParamGuard
/// @notice Hard envelopes, per-change step limits and a minimum interval between changes, for governance
/// parameters.
/// @dev Envelopes are constants of each module: governance can move a parameter only inside them, by at
/// most one step per change, and at most once per cooldown, so neither a compromised role nor a batch of
/// scheduled operations executed in one block can make a cliff-edge change.
library ParamGuard {
    /// @notice `value` of parameter `param` lies outside its hard envelope `[min, max]`.
    error ParameterOutOfEnvelope(bytes32 param, uint256 value, uint256 min, uint256 max);
    /// @notice A change of `param` from `oldValue` to `newValue` exceeds the largest step allowed per change:
    /// `maxStepBps` of the old value, or `minStep` when that is larger.
    error ParameterStepTooLarge(bytes32 param, uint256 oldValue, uint256 newValue, uint256 maxStepBps, uint256 minStep);
    /// @notice The parameter group `key` changed less than a cooldown ago; it may change again at `nextAllowedAt`.
    error ParameterChangeTooSoon(bytes32 key, uint256 nextAllowedAt);

    uint256 internal constant BPS = 10_000;

    /// @notice Reverts unless `min <= value <= max`.
    function checkEnvelope(bytes32 param, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfEnvelope(param, value, min, max);
    }

    /// @notice Reverts unless `newValue` differs from `oldValue` by at most `maxStepBps` of `oldValue`, or by
    /// `minStep` (an absolute floor, so that small and zero values can still move).
    function checkStep(
        bytes32 param,
        uint256 oldValue,
        uint256 newValue,
        uint256 maxStepBps,
        uint256 minStep
    ) internal pure {
        uint256 diff = newValue > oldValue ? newValue - oldValue : oldValue - newValue;
        // Rounding: the relative step rounds down (stricter for governance).
        uint256 allowed = (oldValue * maxStepBps) / BPS;
        if (allowed < minStep) allowed = minStep;
        if (diff > allowed) revert ParameterStepTooLarge(param, oldValue, newValue, maxStepBps, minStep);
    }

    /// @notice Envelope and step at once.
    function check(
        bytes32 param,
        uint256 oldValue,
        uint256 newValue,
        uint256 min,
        uint256 max,
        uint256 maxStepBps,
        uint256 minStep
    ) internal pure {
        checkEnvelope(param, newValue, min, max);
        checkStep(param, oldValue, newValue, maxStepBps, minStep);
    }

    /// @notice Reverts if the parameter group `key` changed less than `cooldown` ago, then records this change.
    function checkCooldown(mapping(bytes32 => uint256) storage lastChange, bytes32 key, uint256 cooldown) internal {
        uint256 last = lastChange[key];
        if (last != 0 && block.timestamp < last + cooldown) revert ParameterChangeTooSoon(key, last + cooldown);
        lastChange[key] = block.timestamp;
    }
}
