// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @title ParamGuard
/// @notice Hard envelopes and per-change step limits for governance parameters.
/// @dev Envelopes are constants of each module: governance can move a parameter only inside them, and
/// by at most one step per change, so a compromised or careless role cannot make a cliff-edge change.
library ParamGuard {
    /// @notice `value` of parameter `param` lies outside its hard envelope `[min, max]`.
    error ParameterOutOfEnvelope(bytes32 param, uint256 value, uint256 min, uint256 max);
    /// @notice A change of `param` from `oldValue` to `newValue` exceeds the largest step allowed per change.
    error ParameterStepTooLarge(bytes32 param, uint256 oldValue, uint256 newValue, uint256 maxStepBps);

    uint256 internal constant BPS = 10_000;

    /// @notice Reverts unless `min <= value <= max`.
    function checkEnvelope(bytes32 param, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfEnvelope(param, value, min, max);
    }

    /// @notice Reverts unless `newValue` is within `maxStepBps` of `oldValue` (relative to `oldValue`).
    /// @dev A parameter that was never set (`oldValue == 0`) takes its first value freely: initial values
    /// come with the listing, which is an ADMIN action under the longest delay.
    function checkStep(bytes32 param, uint256 oldValue, uint256 newValue, uint256 maxStepBps) internal pure {
        if (oldValue == 0) return;
        uint256 diff = newValue > oldValue ? newValue - oldValue : oldValue - newValue;
        // Rounding: the allowed step rounds down (stricter for governance).
        if (diff > (oldValue * maxStepBps) / BPS) revert ParameterStepTooLarge(param, oldValue, newValue, maxStepBps);
    }

    /// @notice Both checks at once.
    function check(
        bytes32 param,
        uint256 oldValue,
        uint256 newValue,
        uint256 min,
        uint256 max,
        uint256 maxStepBps
    ) internal pure {
        checkEnvelope(param, newValue, min, max);
        checkStep(param, oldValue, newValue, maxStepBps);
    }
}
