<?php
// Russian: the terms of the backend's catalogue (docs/translations.md).
return [
    'This article is for members.' => 'Эта статья только для подписчиков.',
    'Your membership does not include this article.' => 'Ваша подписка не включает эту статью.',
    'Members read every article in full, and keep our journalism independent.' => 'Подписчики читают все статьи полностью и поддерживают независимость нашей журналистики.',
    'Become a member' => 'Оформить подписку',
    'Already a member?' => 'Уже есть аккаунт?',
    'Sign in' => 'Войти',
    'Fundraiser progress' => 'Ход сбора средств',
];
